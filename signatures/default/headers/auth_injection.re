# Injection in an Authorization header's credentials. A bearer token is base64url or JWT
# text (RFC 6750's b64token), so a quote followed by SQL logic or a statement break is an
# attack on the code that looks the token up (FortiWeb CVE-2025-25257), never a token.
# Comments are spaces here: the public exploit writes `'/**/OR/**/SLEEP(5)`.
#@ category: sqli
#@ transforms: urlDecodeUni removeNulls replaceComments compressWhitespace lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: SQL injection in a bearer token
^\s*bearer\s+[^\s'"]*['"]\s*\)*\s*(?:or\b|and\b|union\b|having\b|order\s+by\b|;|--|#|\|\||[-+*/%]\s*[\w(]|['"]?\w*['"]\s*=\s*['"])
