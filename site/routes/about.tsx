import { BOT_DAY_INTERACTIONS } from "@bsky/store/circle_limits";
import { apiMeta, type Meta } from "../api/meta.ts";
import type { Lang } from "../i18n.ts";
import { Head } from "../server/render.ts";
import type { Handlers, PageProps } from "../server/types.ts";

interface Data {
  /** The API's settings; undefined when it cannot say, and the page is written without them. */
  meta?: Meta;
}

export const handler: Handlers<Data> = {
  async GET(_req, ctx) {
    return ctx.render({ meta: await apiMeta(ctx.api) });
  },
};

/** The settings' figures in words of a language: "14 days", "24 hours, 7 days, or 30 days". */
function figures(locale: string) {
  const unit = (unit: "hour" | "day") =>
    new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" });
  const [days, hours] = [unit("day"), unit("hour")];
  const windowName = (name: string) => {
    const [, n, unit] = /^(\d+)([hd])$/.exec(name)!;
    return (unit === "h" ? hours : days).format(Number(n));
  };
  const list = new Intl.ListFormat(locale, { type: "disjunction" });
  const numbers = new Intl.NumberFormat(locale);
  return {
    days: (n: number) => days.format(n),
    hours: (n: number) => hours.format(n),
    /** Undefined for none. */
    windows: (names: string[] | undefined) =>
      names?.length ? list.format(names.map(windowName)) : undefined,
    number: (n: number) => numbers.format(n),
  };
}

/** Made once: a formatter takes longer to make than the page to render. */
const FIGURES: Record<Lang, ReturnType<typeof figures>> = {
  en: figures("en"),
  pt: figures("pt-BR"),
};

/** The kinds of interaction, each as a list item: "a **like** of a post by S;". */
function Kinds({ kinds }: { kinds: [before: string, kind: string, after: string][] }) {
  return (
    <ul>
      {kinds.map(([before, kind, after]) => (
        <li key={kind}>
          {before} <strong>{kind}</strong> {after}
        </li>
      ))}
    </ul>
  );
}

type Kind = keyof Meta["weights"];

/** The points of each kind of interaction, in the order the score's text gives them. */
function Weights(
  { weights, f, names }: {
    weights: Meta["weights"];
    f: ReturnType<typeof figures>;
    names: Record<Kind, string>;
  },
) {
  const order: Kind[] = ["like", "repost", "mention", "reply", "quote"];
  return (
    <ul class="weights">
      {order.map((kind) => <li key={kind}>{names[kind]}: {f.number(weights[kind])}</li>)}
    </ul>
  );
}

function English({ meta }: Data) {
  const f = FIGURES.en;
  const W = meta?.weights;
  const windows = f.windows(meta?.windows);
  return (
    <>
      <h1>About</h1>
      <h2 id="counted">What is counted</h2>
      <p>
        Everything comes from the public firehose of the Bluesky network. When account A does one of
        these to account S (and A is not S), it counts as an interaction from A to S:
      </p>
      <Kinds
        kinds={[
          ["a", "like", "of a post by S;"],
          ["a", "repost", "of a post by S;"],
          ["a", "reply", "to a post by S;"],
          ["a", "quote", "of a post by S (with or without media);"],
          ["a", "mention", "of S in a post (once per post)."],
        ]}
      />
      <p>
        One post can be a reply, a quote and a mention at once: each counts. Deleting a like or a
        post takes its interactions back. Blocks are never shown as interactions, and someone you
        block never appears in your circles.
      </p>
      <h2 id="score">How the score works</h2>
      <p>Each interaction adds points; writing something counts more than a tap{W ? ":" : "."}</p>
      {W && (
        <Weights
          weights={W}
          f={f}
          names={{
            like: "like",
            repost: "repost",
            mention: "mention",
            reply: "reply",
            quote: "quote",
          }}
        />
      )}
      <p>
        <em>Sent</em> ranks the accounts you interact with, <em>received</em>{" "}
        those who interact with you, <em>both</em> adds the two, and <em>mutual</em>{" "}
        ranks by the smaller of the two sides, so only two-way interactions rise. The inner ring
        holds the highest scores.
      </p>
      <h2 id="periods">Weeks and months</h2>
      <p>
        Besides the last hours or days, circles can show one week (Monday to Sunday) or one calendar
        month, in UTC, when it starts within the time interactions are kept; one still running
        counts up to the current hour. <em>What changed</em>{" "}
        compares the circles with those of the week or month before, or of as many hours just before
        the window, with the same options: who joined, who left and who moved to another ring. It
        needs that earlier period to be kept too.
      </p>
      <h2 id="leave-out">Leaving people out</h2>
      <ul>
        <li>
          <strong>Chosen accounts</strong>: up to 25 handles or DIDs.
        </li>
        <li>
          <strong>Mutual follows</strong>: the accounts that follow you and that you follow back, as
          the follows stand now. Keep only them, or leave them out.
        </li>
        <li>
          <strong>Accounts that act like bots</strong>: an account that sent more than{" "}
          {f.number(BOT_DAY_INTERACTIONS)}{" "}
          interactions (likes, reposts, replies, quotes and mentions, to anyone) within one UTC day
          of the window or period shown, more than one every 86 seconds for a whole day. The
          firehose data kept here has no labels an account gives itself, so the rate is the rule,
          and it is counted exactly from the interactions kept. Days count as the window counts
          them: the days of a week or month whole, and for the last hours or days only the hours
          inside the window.
        </li>
      </ul>
      <p>
        People are left out before the rings are filled, so the rings still hold the highest scores
        among everyone else.
      </p>
      <h2 id="retention">Data retention</h2>
      <p>
        Interactions are kept for {meta ? f.days(meta.retentionDays) : "a limited time"}{" "}
        and then dropped for good.{" "}
        {windows && `Circles can show the last ${windows}. `}What each like or post pointed at is
        remembered for{" "}
        {meta ? f.hours(meta.recordMemoryHours) : "a short while"}, only so that a delete can be
        subtracted. No post text is stored. Accounts that are deactivated, deleted or taken down
        disappear from every circle and list while they are.
      </p>
      <h2 id="opt-out">Opting out</h2>
      <p>
        You can hide your account from every circle, list and search on{" "}
        <a href="/optout">
          this page
        </a>. To prove the account is yours without signing in, the site gives you a one-time code;
        you post it from that account (alone or within any post), and once the firehose carries the
        post the account is hidden from every answer, within two minutes for pages already cached.
        The code is checked against the account it was made for, and works once, for an hour. The
        same way brings the account back. You may delete the post afterwards. An account that is
        deactivated is hidden anyway while it is.
      </p>
      <h2 id="privacy">Privacy</h2>
      <p>
        Pages, avatars and images are all served from this site: your browser talks to no other
        server, and the site keeps no cookies except your language choice.
      </p>
    </>
  );
}

function Portuguese({ meta }: Data) {
  const f = FIGURES.pt;
  const W = meta?.weights;
  const windows = f.windows(meta?.windows);
  return (
    <>
      <h1>Sobre</h1>
      <h2 id="counted">O que é contado</h2>
      <p>
        Tudo vem do firehose público da rede Bluesky. Quando a conta A faz uma destas coisas com a
        conta S (e A não é S), conta como uma interação de A para S:
      </p>
      <Kinds
        kinds={[
          ["uma", "curtida", "em um post de S;"],
          ["um", "repost", "de um post de S;"],
          ["uma", "resposta", "a um post de S;"],
          ["uma", "citação", "de um post de S (com ou sem mídia);"],
          ["uma", "menção", "a S em um post (uma vez por post)."],
        ]}
      />
      <p>
        Um post pode ser resposta, citação e menção ao mesmo tempo: cada uma conta. Apagar uma
        curtida ou um post desfaz as interações dele. Bloqueios nunca aparecem como interações, e
        quem você bloqueia nunca aparece nos seus círculos.
      </p>
      <h2 id="score">Como a pontuação funciona</h2>
      <p>Cada interação soma pontos; escrever vale mais que um toque{W ? ":" : "."}</p>
      {W && (
        <Weights
          weights={W}
          f={f}
          names={{
            like: "curtida",
            repost: "repost",
            mention: "menção",
            reply: "resposta",
            quote: "citação",
          }}
        />
      )}
      <p>
        <em>Enviadas</em> ordena as contas com quem você interage, <em>recebidas</em>{" "}
        as que interagem com você, <em>ambas</em> soma as duas, e <em>mútuas</em>{" "}
        ordena pelo menor dos dois lados, então só as interações de mão dupla sobem. O anel interno
        tem as maiores pontuações.
      </p>
      <h2 id="periods">Semanas e meses</h2>
      <p>
        Além das últimas horas ou dias, os círculos podem mostrar uma semana (de segunda a domingo)
        ou um mês do calendário, em UTC, quando começa dentro do tempo em que as interações ficam
        guardadas; um que ainda não terminou conta até a hora atual. <em>O que mudou</em>{" "}
        compara os círculos com os da semana ou do mês anterior, ou das mesmas horas logo antes do
        período, com as mesmas opções: quem entrou, quem saiu e quem mudou de anel. Para isso o
        período anterior também precisa estar guardado.
      </p>
      <h2 id="leave-out">Deixar pessoas de fora</h2>
      <ul>
        <li>
          <strong>Contas escolhidas</strong>: até 25 usuários ou DIDs.
        </li>
        <li>
          <strong>Quem se segue mutuamente</strong>: as contas que seguem você e que você segue de
          volta, como os follows estão agora. Mantenha só essas, ou deixe-as de fora.
        </li>
        <li>
          <strong>Contas que agem como robôs</strong>: uma conta que enviou mais de{" "}
          {f.number(BOT_DAY_INTERACTIONS)}{" "}
          interações (curtidas, reposts, respostas, citações e menções, para quem for) em um mesmo
          dia UTC do período mostrado, mais de uma a cada 86 segundos por um dia inteiro. Os dados
          do firehose guardados aqui não trazem os rótulos que uma conta dá a si mesma, então a
          regra é o ritmo, contado exatamente a partir das interações guardadas. Os dias contam como
          o período os conta: os de uma semana ou de um mês inteiros, e nas últimas horas ou dias só
          as horas dentro do período.
        </li>
      </ul>
      <p>
        As pessoas ficam de fora antes de os anéis serem preenchidos, então os anéis continuam com
        as maiores pontuações entre todas as outras.
      </p>
      <h2 id="retention">Retenção de dados</h2>
      <p>
        As interações ficam guardadas por {meta ? f.days(meta.retentionDays) : "um tempo limitado"}
        {" "}
        e depois são apagadas de vez.{" "}
        {windows && `Os círculos podem cobrir um período de ${windows}. `}Para onde cada curtida ou
        post apontava fica guardado por{" "}
        {meta ? f.hours(meta.recordMemoryHours) : "pouco tempo"}, só para que uma exclusão possa ser
        descontada. Nenhum texto de post é guardado. Contas desativadas, apagadas ou suspensas somem
        de todos os círculos e listas enquanto estiverem assim.
      </p>
      <h2 id="opt-out">Como sair</h2>
      <p>
        Você pode ocultar sua conta de todos os círculos, listas e buscas{" "}
        <a href="/optout">
          nesta página
        </a>. Para provar que a conta é sua sem fazer login, o site lhe dá um código de uso único;
        você o publica pela conta (sozinho ou dentro de qualquer post), e assim que o firehose
        trouxer a publicação a conta some de todas as respostas, em até dois minutos para páginas já
        em cache. O código vale só para a conta para a qual foi feito, uma vez, por uma hora. O
        mesmo caminho traz a conta de volta. Depois você pode apagar a publicação. Uma conta
        desativada já fica oculta enquanto estiver assim.
      </p>
      <h2 id="privacy">Privacidade</h2>
      <p>
        Páginas, avatares e imagens vêm todos deste site: seu navegador não fala com nenhum outro
        servidor, e o site não guarda cookies além da sua escolha de idioma.
      </p>
    </>
  );
}

export default function About({ data, state: { t, lang } }: PageProps<Data>) {
  return (
    <article class="about">
      <Head>
        <title>{`${t.navAbout} · ${t.siteName}`}</title>
      </Head>
      {lang === "pt" ? <Portuguese meta={data.meta} /> : <English meta={data.meta} />}
    </article>
  );
}
