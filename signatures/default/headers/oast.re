# Out-of-band interaction domains in any header (Host override headers, Referer, Origin...).
#@ category: scanner
#@ transforms: lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: Scanner: out-of-band interaction domain in a header
(?:^|[^\w-])[\w-]+\.(?:burpcollaborator\.net|oastify\.com|oast\.(?:fun|me|pro|live|site|online)|interact\.sh|interactsh\.com|dnslog\.cn|ceye\.io|requestrepo\.com|bxss\.me|xss\.ht|xss\.report)\b
