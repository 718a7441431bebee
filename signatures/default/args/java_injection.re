# Java code / expression-language injection and serialized Java objects.
#@ category: java-injection
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: Java injection: Runtime/ProcessBuilder execution
\bgetruntime\s*\(\s*\)\s*\.\s*exec\s*\(
\bnew\s+(?:java\.lang\.)?processbuilder\s*\(
@java\.lang\.(?:runtime|system|processbuilder|class)@
\bt\s*\(\s*java\.lang\.(?:runtime|system|processbuilder|thread|class)\s*\)
\bclass\.forname\s*\(\s*['"]java\.lang\.(?:runtime|processbuilder|system)
\bjava\.lang\.runtime\b\s*['")]?\s*\.\s*(?:getruntime|getmethod|class)
\bjavax\.script\.scriptenginemanager\b
\bjava\.beans\.xmldecoder\b
#@ message: Java injection: OGNL expression
%\{\s*(?:\(\s*)*#[a-z_][\w.]*\s*[=\[.(}]
#_memberaccess
@ognl\.ognlcontext@
\bognl\.(?:ognlcontext|ognlruntime|memberaccess)\b
#context\s*\[\s*['"]xwork\.
\bcom\.opensymphony\.xwork2\.(?:dispatcher|actioncontext|ognl)
#@ message: Java injection: class loader manipulation (Spring4Shell and friends)
\bclass\.(?:module\.)?classloader\.
(?:^|[.\[])class\s*\[\s*['"]?classloader
\.getclass\s*\(\s*\)\s*\.\s*(?:getclassloader|forname|getmethod|getdeclaredmethod)\s*\(
#@ message: Java injection: serialized Java object
^\s*ro0ab[a-z0-9+/]{4}
^\s*(?:h4siaaaaaaaa[a-z0-9+/]{0,4})?aced0005
\bysoserial\b
#@ message: Node.js code injection
_\$\$nd_func\$\$_
\bprocess\.binding\s*\(
#\{\s*process\.
\brequire\s*\(\s*['"]child_process['"]\s*\)
\bprocess\.mainmodule\b
\bchild_process['"]?\s*\)?\s*\.\s*(?:exec|execsync|spawn|spawnsync|execfile)\s*\(
#@ message: Python code injection
\b__import__\s*\(\s*['"](?:os|subprocess|pty|socket|builtins|commands)['"]
\beval\s*\(\s*compile\s*\(
\bos\.(?:system|popen|exec[lv]p?e?)\s*\(\s*['"][^'"]{0,40}\b(?:id|whoami|uname|cat\s+/etc|wget|curl|nc|bash|sh\s+-[ci]|ping|sleep|rm\s+-rf)\b
\bsubprocess\.(?:popen|call|check_output|run)\s*\(\s*\[?\s*['"](?:/bin/)?(?:sh|bash|id|whoami|nc|curl|wget)\b
#@ paranoia: 2
#@ severity: error
#@ message: Java/Python injection (PL2): risky API mentioned
\bjava\.lang\.(?:runtime|processbuilder)\b
\bos\.(?:system|popen)\s*\(
\b__import__\s*\(
#@ severity: critical
#@ paranoia: 1
#@ message: Groovy injection: a shell command string executed
(?:"|')\s*(?:/(?:usr/)?bin/)?(?:sh|bash|zsh|dash|id|whoami|uname|cat\s+/|nc|ncat|netcat|curl|wget|ping|nslookup|cmd(?:\.exe)?|powershell(?:\.exe)?|python[23]?|perl|ruby|php)\b[^"'\r\n]{0,256}(?:"|')\s*\.\s*execute\s*\(\s*\)
\[\s*(?:"|')\s*(?:/(?:usr/)?bin/)?(?:sh|bash|zsh|cmd(?:\.exe)?|powershell(?:\.exe)?)(?:"|')\s*,[^\]\r\n]{0,512}\]\s*\.\s*execute\s*\(\s*\)
#@ message: .NET deserialization: a gadget type in a serialized stream in base64 (ViewState /wEy, BinaryFormatter AAEAAAD/////; ysoserial.net)
^\s*(?:/wey|aaeaaad/////)[a-z0-9+/=\s]*?(?:9iamvjderhdgfqcm92awrl|n5c3rlbs5eawfnbm9zdgljcy5qcm9jzxnz|n5c3rlbs5eyxrhllnlcnzpy2vzlkludgvybmfs|n5c3rlbs5xaw5kb3dzlkrh|pymply3reyxrhuhjvdmlk|r5cgvdb25mdxnlrgvszwdh|t2jqzwn0rgf0yvbyb3zpzgvy|texn0zw0urgf0ys5tzxj2awnlcy5jbnrlcm5h|texn0zw0urglhz25vc3rpy3muuhjvy2vz|texn0zw0uv2luzg93cy5eyxrh|u3lzdgvtlkrhdgeuu2vydmljzxmusw50zxju|u3lzdgvtlkrpywdub3n0awnzllbyb2nl|u3lzdgvtlldpbmrvd3murgf0|uexblq29uznvzzurlbgvnyxrl|vhlwzunvbmz1c2vezwxlz2f0)
#@ message: Python deserialization: a pickle that imports a command-running module (raw protocol 0, or base64 of protocols 0-5)
(?:^|\s)c(?:os|posix|nt|subprocess|__builtin__|builtins|commands|pty|socket)\s+(?:system|popen[0-9]?|exec[a-z]*|eval|check_output|check_call|call|run|getoutput|spawn[a-z]*)\s+(?:[pq][0-9]+\s+)?\((?:s'[^']*'|v\S*)\s+(?:[pq][0-9]+\s+)?tp?[0-9]*\s*r
^\s*ga[jn]j(?:cg9zaxgk|b3mk|bnqk|c3vichjvy2vzcw|x19idwlsdgluxw|ynvpbhrpbnmk|y29tbwfuzhmk|chr5cg|c29ja2v0cg)
^\s*ga[sw]v[a-z0-9+/]{4}aaaaaacm(?:bxbvc2l4|am50|am9z|cnn1ynbyb2nlc3|cgj1awx0aw5z|cgnvbw1hbmrz|bnnvy2tl|a3b0e)
^\s*(?:y19fynvpbhrpbl9fcmdldg91dhb1|y19fynvpbhrpbl9fcmnhbgwk|y19fynvpbhrpbl9fcmnozwnrx291dhb1|y19fynvpbhrpbl9fcmv2ywwk|y19fynvpbhrpbl9fcmv4zwmk|y19fynvpbhrpbl9fcnbvcgvu|y19fynvpbhrpbl9fcnj1|y19fynvpbhrpbl9fcnn5c3rl|y250cmdldg91dhb1|y250cmnhbgwk|y250cmnozwnrx291dhb1|y250cmv2ywwk|y250cmv4zwmk|y250cnbvcgvu|y250cnj1|y250cnn5c3rl|y29zcmdldg91dhb1|y29zcmnhbgwk|y29zcmnozwnrx291dhb1|y29zcmv2ywwk|y29zcmv4zwmk|y29zcnbvcgvu|y29zcnj1|y29zcnn5c3rl|y2j1awx0aw5zcmdldg91dhb1|y2j1awx0aw5zcmnhbgwk|y2j1awx0aw5zcmnozwnrx291dhb1|y2j1awx0aw5zcmv2ywwk|y2j1awx0aw5zcmv4zwmk|y2j1awx0aw5zcnbvcgvu|y2j1awx0aw5zcnj1|y2j1awx0aw5zcnn5c3rl|y3bvc2l4cmdldg91dhb1|y3bvc2l4cmnhbgwk|y3bvc2l4cmnozwnrx291dhb1|y3bvc2l4cmv2ywwk|y3bvc2l4cmv4zwmk|y3bvc2l4cnbvcgvu|y3bvc2l4cnj1|y3bvc2l4cnn5c3rl|y3n1ynbyb2nlc3mkc3lzdgvt|y3n1ynbyb2nlc3mkcg9wzw4k|y3n1ynbyb2nlc3mkcnvu|y3n1ynbyb2nlc3mky2fs|y3n1ynbyb2nlc3mky2hly2tfb3v0chv0|y3n1ynbyb2nlc3mkz2v0b3v0chv0|y3n1ynbyb2nlc3mkzxhl|y3n1ynbyb2nlc3mkzxzh)
#@ message: YAML deserialization: a tag that instantiates a language object (PyYAML python/object, Ruby Psych, SnakeYAML Java classes)
!!python/object(?:/(?:apply|new))?\s*:
!ruby/(?:object|hash|struct)\s*:\s*(?:gem::(?:installer|requirement|specfetcher|package::tarreader|requestset|source|resolver|stubspecification)|net::(?:writeadapter|bufferedio)|erb\b|kernel\b|activesupport::deprecation|activerecord::associations)|!ruby/marshal\s*:
!!(?:javax?|sun|com\.sun|org\.(?:apache|springframework|hibernate|codehaus|yaml)|com\.(?:mchange|zaxxer|alibaba|fasterxml))\.[a-z0-9_$]+(?:\.[a-z0-9_$]+)*\s*[\[{(]
