/**
 * A source host in process, as a `fetch` for the backfill: listRepos pages over a list of
 * repositories, getRepo answering with each one's CAR (or what a test asks instead), and
 * describeRepo. It records every request, and how many getRepo were in flight at most.
 */
export interface FakeRepo {
  did: string;
  car: Uint8Array<ArrayBuffer>;
  active?: boolean;
  status?: string;
  handle?: string;
}

export type Answer = () => Response | Promise<Response>;

export class FakeSource {
  readonly url = "https://source.example";
  requests: { method: string; did?: string; at: number }[] = [];
  inFlight = 0;
  maxInFlight = 0;
  /** How long getRepo takes (ms). */
  delayMs = 0;
  /** Answers for a DID's getRepo, used in order before its CAR. */
  answers = new Map<string, Answer[]>();
  /** Entries listRepos adds to its first page, as they are (malformed ones, say). */
  extraEntries: unknown[] = [];

  constructor(public repos: FakeRepo[]) {}

  fetch: typeof fetch = async (input) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = url.pathname.replace("/xrpc/", "");
    const did = url.searchParams.get("did") ?? url.searchParams.get("repo") ?? undefined;
    this.requests.push({ method, did, at: performance.now() });
    if (method === "com.atproto.sync.listRepos") {
      const limit = Number(url.searchParams.get("limit"));
      const from = Number(url.searchParams.get("cursor") ?? 0);
      const page = this.repos.slice(from, from + limit).map((r) => ({
        did: r.did,
        head: "bafy",
        rev: "3kaaaaaaaaaa2",
        active: r.active ?? true,
        ...(r.status ? { status: r.status } : {}),
      }));
      const repos = from === 0 ? [...this.extraEntries, ...page] : page;
      return Response.json({ repos, cursor: String(from + page.length) });
    }
    const repo = this.repos.find((r) => r.did === did);
    if (method === "com.atproto.repo.describeRepo") {
      if (!repo) return Response.json({ error: "RepoNotFound" }, { status: 400 });
      return Response.json({ did, ...(repo.handle ? { handle: repo.handle } : {}) });
    }
    if (method !== "com.atproto.sync.getRepo") {
      return Response.json({ error: "MethodNotImplemented" }, { status: 501 });
    }
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const answer = this.answers.get(did ?? "")?.shift();
      if (answer) return await answer();
      if (!repo) return Response.json({ error: "RepoNotFound" }, { status: 400 });
      return new Response(repo.car, { headers: { "content-type": "application/vnd.ipld.car" } });
    } finally {
      this.inFlight--;
    }
  };

  getRepos(did?: string) {
    return this.requests.filter((r) =>
      r.method === "com.atproto.sync.getRepo" && (did === undefined || r.did === did)
    );
  }
}
