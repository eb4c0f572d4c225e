/**
 * English and Portuguese. The language comes from ?lang= (then kept in a cookie), the
 * cookie, or Accept-Language, in that order.
 */

export const LANGS = ["en", "pt"] as const;
export type Lang = typeof LANGS[number];

const en = {
  siteName: "Bluesky circles",
  tagline: "The people you interact with most, drawn as rings.",
  navHome: "Home",
  navTop: "Top",
  navLive: "Live",
  navAbout: "About",
  skip: "Skip to content",
  language: "Language",
  searchLabel: "Bluesky handle",
  searchPlaceholder: "alice.bsky.social",
  searchButton: "See circles",
  searchNone: "No handle starts like that",
  searchMany: "Handles starting with “{term}”",
  homeIntro:
    "Type a handle to see the accounts it likes, reposts, replies to, quotes and mentions most, and those that do the same to it. Everything comes from the public firehose of the network.",
  circlesOf: "Interaction circles of",
  ring: "Ring",
  options: "Options",
  rings: "Rings",
  direction: "Direction",
  sent: "Sent",
  received: "Received",
  both: "Both",
  mutual: "Mutual",
  window: "Window",
  w24h: "24 hours",
  w7d: "7 days",
  w30d: "30 days",
  background: "Background",
  border: "Border",
  showDate: "Show the date range",
  apply: "Apply",
  downloadPng: "Download PNG",
  copyImage: "Copy image",
  copyHandles: "Copy handles",
  copied: "Copied",
  copyFailed: "Could not copy",
  share: "Share link",
  people: "People",
  person: "Person",
  likes: "Likes",
  reposts: "Reposts",
  replies: "Replies",
  quotes: "Quotes",
  mentions: "Mentions",
  posts: "Posts",
  follows: "Follows",
  blocks: "Blocks",
  profileUpdates: "Profile updates",
  handleChanges: "Handle changes",
  accountChanges: "Account changes",
  unreadable: "Unreadable events",
  score: "Score",
  nobody: "No interactions in this window yet.",
  from: "from",
  to: "to",
  top: "Top accounts",
  computedAt: "Computed",
  notComputed: "This list has not been computed yet. Come back in a few minutes.",
  count: "Count",
  live: "The network, live",
  eventsPerSecond: "Events per second",
  lag: "Lag",
  backlog: "Indexer backlog",
  activeAccounts: "Active accounts",
  byCollection: "Events per second by collection",
  seconds: "s",
  refresh: "Refresh",
  liveChart: "Events per second over the last minutes",
  unknownTitle: "Nobody by that handle",
  unknownText:
    "We have not seen this handle on the network. Check the spelling, or try the search.",
  goneTitle: "This account is not shown",
  goneText:
    "The account was deactivated, deleted or taken down, or asked not to be shown. Its circles are hidden.",
  limitedTitle: "Too many requests",
  limitedText: "You asked for a lot in a short time. Wait a minute, then try again.",
  downTitle: "The data is out of reach",
  downText: "The service behind this page is not answering right now. Try again in a minute.",
  badTitle: "That request cannot be answered",
  badText: "Something in the address is not valid.",
  notFoundTitle: "Page not found",
  notFoundText: "There is nothing at this address.",
  errorTitle: "Something went wrong",
  errorText: "Something went wrong on our side. Try again in a minute.",
  backHome: "Back to the search",
  optTitle: "Hide your account",
  optIntro:
    "Your account can be left out of every circle, list and search here. To show that it is yours without signing in, you get a one-time code and post it from the account; as soon as the network carries that post, the account is hidden (or shown again). You may delete the post afterwards.",
  optHandle: "Your handle",
  optHide: "Hide my account",
  optShow: "Show my account again",
  optGetCode: "Get a code",
  optPostThis: "Post this from the account, alone or within any post, within the hour:",
  optExpires: "The code works until",
  optCheck: "Check whether it was seen",
  optWaiting: "Not seen on the network yet. It takes a few seconds after you post.",
  optDoneOut:
    "Done: the account is hidden from every circle, list and search. Pages already cached may take two minutes to follow.",
  optDoneIn: "Done: the account is shown again.",
  optUnknown: "We have not seen that handle on the network.",
  optInvalid: "That is not a handle, such as alice.bsky.social.",
  optExpired: "That code is unknown or has expired. Ask for a new one.",
  metrics: {
    likes_received: "Most liked",
    likes_sent: "Liking most",
    reposts_received: "Most reposted",
    reposts_sent: "Reposting most",
    replies_received: "Most replied to",
    replies_sent: "Replying most",
    quotes_received: "Most quoted",
    quotes_sent: "Quoting most",
    mentions_received: "Most mentioned",
    mentions_sent: "Mentioning most",
    blocked: "Most blocked",
    blockers: "Blocking most",
  } as Record<string, string>,
  ago: (minutes: number) =>
    minutes < 1
      ? "just now"
      : minutes < 120
      ? `${minutes} min ago`
      : `${Math.round(minutes / 60)} h ago`,
};

export type Dict = typeof en;

const pt: Dict = {
  siteName: "Círculos do Bluesky",
  tagline: "As pessoas com quem você mais interage, desenhadas em anéis.",
  navHome: "Início",
  navTop: "Top",
  navLive: "Ao vivo",
  navAbout: "Sobre",
  skip: "Pular para o conteúdo",
  language: "Idioma",
  searchLabel: "Usuário do Bluesky",
  searchPlaceholder: "alice.bsky.social",
  searchButton: "Ver círculos",
  searchNone: "Nenhum usuário começa assim",
  searchMany: "Usuários que começam com “{term}”",
  homeIntro:
    "Digite um usuário para ver as contas que ele mais curte, reposta, responde, cita e menciona, e as que fazem o mesmo com ele. Tudo vem do firehose público da rede.",
  circlesOf: "Círculos de interação de",
  ring: "Anel",
  options: "Opções",
  rings: "Anéis",
  direction: "Direção",
  sent: "Enviadas",
  received: "Recebidas",
  both: "Ambas",
  mutual: "Mútuas",
  window: "Período",
  w24h: "24 horas",
  w7d: "7 dias",
  w30d: "30 dias",
  background: "Fundo",
  border: "Borda",
  showDate: "Mostrar o período",
  apply: "Aplicar",
  downloadPng: "Baixar PNG",
  copyImage: "Copiar imagem",
  copyHandles: "Copiar usuários",
  copied: "Copiado",
  copyFailed: "Não foi possível copiar",
  share: "Link para compartilhar",
  people: "Pessoas",
  person: "Pessoa",
  likes: "Curtidas",
  reposts: "Reposts",
  replies: "Respostas",
  quotes: "Citações",
  mentions: "Menções",
  posts: "Posts",
  follows: "Seguidas",
  blocks: "Bloqueios",
  profileUpdates: "Perfis atualizados",
  handleChanges: "Mudanças de usuário",
  accountChanges: "Mudanças de conta",
  unreadable: "Eventos ilegíveis",
  score: "Pontos",
  nobody: "Nenhuma interação neste período ainda.",
  from: "de",
  to: "até",
  top: "Contas em destaque",
  computedAt: "Calculado",
  notComputed: "Esta lista ainda não foi calculada. Volte em alguns minutos.",
  count: "Total",
  live: "A rede, ao vivo",
  eventsPerSecond: "Eventos por segundo",
  lag: "Atraso",
  backlog: "Fila do indexador",
  activeAccounts: "Contas ativas",
  byCollection: "Eventos por segundo por coleção",
  seconds: "s",
  refresh: "Atualizar",
  liveChart: "Eventos por segundo nos últimos minutos",
  unknownTitle: "Ninguém com esse usuário",
  unknownText: "Não vimos esse usuário na rede. Confira a grafia ou use a busca.",
  goneTitle: "Esta conta não é exibida",
  goneText:
    "A conta foi desativada, apagada ou suspensa, ou pediu para não ser exibida. Os círculos dela ficam ocultos.",
  limitedTitle: "Pedidos demais",
  limitedText: "Você pediu muita coisa em pouco tempo. Espere um minuto e tente de novo.",
  downTitle: "Os dados estão fora de alcance",
  downText:
    "O serviço por trás desta página não está respondendo agora. Tente de novo em um minuto.",
  badTitle: "Não dá para responder a esse pedido",
  badText: "Algo no endereço não é válido.",
  notFoundTitle: "Página não encontrada",
  notFoundText: "Não há nada neste endereço.",
  errorTitle: "Algo deu errado",
  errorText: "Algo deu errado do nosso lado. Tente de novo em um minuto.",
  backHome: "Voltar para a busca",
  optTitle: "Ocultar sua conta",
  optIntro:
    "Sua conta pode ficar de fora de todos os círculos, listas e buscas daqui. Para mostrar que ela é sua sem fazer login, você recebe um código de uso único e o publica pela conta; assim que a rede transmitir essa publicação, a conta é ocultada (ou volta a aparecer). Depois você pode apagar a publicação.",
  optHandle: "Seu usuário",
  optHide: "Ocultar minha conta",
  optShow: "Mostrar minha conta de novo",
  optGetCode: "Obter um código",
  optPostThis: "Publique isto pela conta, sozinho ou dentro de qualquer post, em até uma hora:",
  optExpires: "O código vale até",
  optCheck: "Verificar se já foi visto",
  optWaiting: "Ainda não visto na rede. Leva alguns segundos depois de publicar.",
  optDoneOut:
    "Pronto: a conta está oculta em todos os círculos, listas e buscas. Páginas já em cache podem levar dois minutos para acompanhar.",
  optDoneIn: "Pronto: a conta voltou a aparecer.",
  optUnknown: "Não vimos esse usuário na rede.",
  optInvalid: "Isso não é um usuário, como alice.bsky.social.",
  optExpired: "Esse código é desconhecido ou expirou. Peça um novo.",
  metrics: {
    likes_received: "Mais curtidos",
    likes_sent: "Que mais curtem",
    reposts_received: "Mais repostados",
    reposts_sent: "Que mais repostam",
    replies_received: "Mais respondidos",
    replies_sent: "Que mais respondem",
    quotes_received: "Mais citados",
    quotes_sent: "Que mais citam",
    mentions_received: "Mais mencionados",
    mentions_sent: "Que mais mencionam",
    blocked: "Mais bloqueados",
    blockers: "Que mais bloqueiam",
  },
  ago: (minutes: number) =>
    minutes < 1
      ? "agora"
      : minutes < 120
      ? `há ${minutes} min`
      : `há ${Math.round(minutes / 60)} h`,
};

export const DICTS: Record<Lang, Dict> = { en, pt };

const isLang = (v: string | null | undefined): v is Lang => LANGS.includes(v as Lang);

/** The language of a request, and whether ?lang= asked for it (then it goes in a cookie). */
export function pickLang(req: Request, url: URL): { lang: Lang; fromQuery: boolean } {
  const query = url.searchParams.get("lang");
  if (isLang(query)) return { lang: query, fromQuery: true };
  const cookie = req.headers.get("cookie")?.match(/(?:^|;\s*)lang=(\w+)/)?.[1];
  if (isLang(cookie)) return { lang: cookie, fromQuery: false };
  const ranked = (req.headers.get("accept-language") ?? "").split(",").map((part) => {
    const [tag, ...params] = part.trim().split(";");
    const q = params.find((p) => p.trim().startsWith("q="));
    return { tag: tag.trim().toLowerCase().split("-")[0], q: q ? Number(q.trim().slice(2)) : 1 };
  }).filter((x) => x.tag && x.q > 0).sort((a, b) => b.q - a.q);
  for (const { tag } of ranked) if (isLang(tag)) return { lang: tag, fromQuery: false };
  return { lang: "en", fromQuery: false };
}
