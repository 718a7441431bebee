# Log4Shell (CVE-2021-44228/45046) JNDI lookups and the lookup-nesting used to hide them.
#@ category: log4shell
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: Log4Shell: JNDI lookup
\$\{[^}]{0,30}j[^}]{0,30}n[^}]{0,30}d[^}]{0,30}i[^}]{0,30}:
\$\{\s*jndi\s*:
\bjndi\s*:\s*(?:ldaps?|rmi|dns|iiop|corba|nds|nis|http)s?\s*:
#@ message: Log4Shell: nested lookup used for obfuscation
\$\{[^}]{0,40}\$\{[^}]{0,40}(?::-|lower\s*:|upper\s*:|date\s*:|env\s*:|sys\s*:|k8s\s*:|base64\s*:|::)
\$\{\s*(?:lower|upper)\s*:\s*\w{0,4}\s*\}
\$\{\s*::-[^}]{0,5}\}
\$\{\s*(?:env|sys|k8s|docker|date|main|ctx|bundle|spring|web|jvmrunargs|marker|map|sd|event|base64)\s*:[^}]{0,60}:-[^}]{0,8}\}
#@ message: Log4Shell: lookup that exfiltrates secrets
\$\{\s*(?:env|sys)\s*:\s*(?:aws_|azure_|gcp_|[\w.]*(?:secret|password|passwd|token|key|user|java\.version|os\.name|hostname))[^}]{0,40}\}
\$\{\s*base64\s*:\s*[a-z0-9+/=]{8,}\s*\}
