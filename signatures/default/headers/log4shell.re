# Log4Shell in ANY request header (Authorization, Accept-Language, Cookie... included).
#@ category: log4shell
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: Log4Shell: JNDI lookup in a header
\$\{[^}]{0,30}j[^}]{0,30}n[^}]{0,30}d[^}]{0,30}i[^}]{0,30}:
\bjndi\s*:\s*(?:ldaps?|rmi|dns|iiop|corba|nds|nis|http)s?\s*:
#@ message: Log4Shell: nested lookup in a header
\$\{[^}]{0,40}\$\{[^}]{0,40}(?::-|lower\s*:|upper\s*:|date\s*:|env\s*:|sys\s*:|k8s\s*:|base64\s*:|::)
\$\{\s*::-[^}]{0,5}\}
