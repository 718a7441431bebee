# Open redirect: a value that is a URL only after a browser's lenient parsing. A plain
# protocol-relative or absolute URL (next=//cdn.example.com/x, return_to=https://…) is common
# in benign traffic and left to the application (and the classifier); what is blocked here
# are the spellings that exist to slip past an application's "same site?" check: backslashes
# in the leading slash run, three or more slashes, tabs or line breaks between slashes, a
# path that starts with a scheme, a scheme with one slash or none, full-width dots in a host.
#@ category: open-redirect
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: Open redirect: a path-like value that browsers read as a foreign host
^\s*/[/\\]*\\[/\\;@\t\x0b\x0c]*[a-z0-9%-]+\.[a-z0-9%-]
^\s*\\/[/\\]+[a-z0-9%-]+\.[a-z0-9%-]
^\s*/{3,}[a-z0-9%-]+\.[a-z]
^\s*/+[\t\x0b\x0c]+[/\\]+[a-z0-9%-]+\.[a-z]
^\s*/+(?:https?|javascript|data|vbscript)\s*:
#@ message: Open redirect: a malformed absolute URL that browsers repair into a foreign host
^\s*https?:[/\\]*\\[/\\]*[a-z0-9%.-]
# (a scheme with one slash or none, https:host, is also a typo in website fields: left to the classifier)
^\s*https?:/{3,}[a-z0-9%-]+\.[a-z]
^\s*(?:https?:)?//[a-z0-9-]+(?:。|．|｡)[a-z0-9-]
