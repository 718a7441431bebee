# Server-side request forgery: URLs a server should never be asked to fetch. Plain loopback URLs
# are common in benign traffic (OAuth redirect_uri=http://127.0.0.1:53682/ for CLIs, dev
# http://localhost:3000 callbacks, Referer from local dev), so a plain loopback/private URL only
# scores a warning at PL1; metadata endpoints, obfuscated IPs, internal service ports and
# dangerous schemes are critical.
#@ category: ssrf
#@ transforms: default lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: SSRF: cloud metadata endpoint
\b169\.254\.169\.254\b
\b(?:metadata\.google\.internal|metadata\.goog|instance-data(?:\.ec2\.internal)?|metadata\.azure\.com|metadata\.oraclecloud\.com)\b
(?:https?|gopher|dict)://100\.100\.100\.200\b
(?:https?://)?\[?fd00:ec2::254\]?
(?:https?://)?169\.254\.170\.2\b
/(?:latest/(?:meta-data|user-data|api/token)|computemetadata/v1|metadata/(?:instance|identity)\b|openstack/latest/meta_data)
#@ message: SSRF: dangerous URL scheme
(?:^|[\s"'=(,])(?:gopher|dict|tftp|ldapi?|jar|netdoc|sftp)://
(?:^|[\s"'=(,])jar:(?:https?|file|ftp):
(?:^|[\s"'=(,])ldaps?://(?:127\.|localhost|0\.0\.0\.0|\[::)
#@ message: SSRF: obfuscated loopback or internal address
(?:https?|ftp|gopher|dict)://(?:[^/@\s]*@)?(?:host\.docker\.internal|gateway\.docker\.internal|localhost\.localdomain|localhost4(?:\.localdomain4)?|localhost6(?:\.localdomain6)?|ip6-(?:localhost|loopback))(?:[:/?#]|$)
(?:https?|ftp|gopher|dict)://(?:[^/@\s]*@)?(?:0x[0-9a-f]{1,8}|\d{8,10}|0\d{1,3}(?:\.0?\d{1,3}){3}|0x[0-9a-f]{1,2}(?:\.0x[0-9a-f]{1,2}){3}|127\.\d{1,3}|127\.\d{1,3}\.\d{1,5}|0|0\.0\.0\.0)(?:[:/?#\\]|$)
(?:https?|ftp)://(?:[^/@\s]*@)?\[(?:0*:)*:?(?:ffff:)?(?:127\.\d+\.\d+\.\d+|7f00:\w+|0*1|::)\]
(?:https?|ftp)://(?:[^/@\s]*@)?(?:[\w-]+\.)*(?:localtest\.me|lvh\.me|127\.0\.0\.1\.nip\.io|169\.254\.169\.254\.(?:nip|xip|sslip)\.io|(?:\d+[.-]){3}\d+\.(?:nip|xip|sslip)\.io|localhost\.(?:[\w-]+\.)+[a-z]+|spoofed\.burpcollaborator\.net|vcap\.me|fbi\.com|1u\.ms)(?:[:/?#]|$)
(?:https?|ftp)://[^/\s]*@(?:127\.|localhost|0\.0\.0\.0|169\.254\.|\[::)
(?:https?|ftp)://(?:127\.0\.0\.1|localhost|\[::1\])[:/]?[^\s]*[#\\]@
#@ message: SSRF: internal service port on a loopback/private host
(?:https?|gopher|dict)://(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1?\]|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(?:1[6-9]|2\d|3[01])\.\d+\.\d+):(?:22|23|25|110|135|139|143|389|445|1433|1521|2375|2376|2379|3306|5432|5984|6379|6443|7001|8500|8983|9000|9042|9090|9200|9300|10250|10255|11211|15672|27017|50070)\b
(?:https?|gopher|dict)://(?:127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1?\]|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(?:1[6-9]|2\d|3[01])\.\d+\.\d+)(?::\d+)?/(?:admin|manager/html|server-status|server-info|actuator|jolokia|console|phpmyadmin|solr|_cat|_cluster|v1/agent|v2/keys|containers/json|pods|api/v1/namespaces|debug/pprof|metrics|cgi-bin/|jmx-console|web-console|invoker|latest|computemetadata|\.env|\.git|config)
https?://kubernetes\.default(?:\.svc)?(?:\.cluster\.local)?\b
#@ severity: warning
#@ message: SSRF: loopback URL (alone not blocking; common in OAuth dev redirects)
(?:https?|ftp)://(?:[^/@\s]*@)?(?:127\.0\.0\.1|localhost|\[::1\])(?:[:/?#]|$)
#@ paranoia: 2
#@ severity: critical
#@ message: SSRF (PL2): loopback or private network URL
(?:https?|ftp)://(?:[^/@\s]*@)?(?:127\.\d+\.\d+\.\d+|localhost|\[::1\]|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(?:1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+)(?:[:/?#]|$)
