# Out-of-band interaction domains used by scanners and pentest tools (Burp Collaborator,
# interactsh, dnslog...). They have no business in application input.
#@ category: scanner
#@ transforms: default lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: Scanner: out-of-band interaction domain
(?:^|[^\w-])[\w-]+\.(?:burpcollaborator\.net|oastify\.com|oast\.(?:fun|me|pro|live|site|online)|interact\.sh|interactsh\.com|dnslog\.cn|ceye\.io|requestrepo\.com|bxss\.me|xss\.ht|xss\.report|dnslog\.pw|eyes\.sh|tu4\.org|canarytokens\.com)\b
