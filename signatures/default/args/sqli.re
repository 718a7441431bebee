# SQL injection in user input values (query/body args, cookies, non-structural headers).
# Values are decoded (URL twice in total, HTML entities, JS/CSS escapes, NFKC), SQL comments
# /* ... */ become a space, whitespace is compressed. Patterns need SQL context: a quote or
# number breaking out, an SQL keyword sequence, or a database-specific function.
#@ category: sqli
#@ transforms: default replaceComments compressWhitespace
#@ severity: critical
#@ paranoia: 1

#@ message: SQL injection: UNION SELECT
\bunion(?:\s+(?:all|distinct|distinctrow))?\s*\(?\s*select\s*(?:\(|\*|@|'|"|`|0x|-?\d|null\b|(?:all|distinct|top\s+\d+)\s|[\w.`$]+\s*(?:,|\(|\bfrom\b|--|#))
\bunion(?:\s+(?:all|distinct))?\s*\(?\s*select\b.{0,200}?\bfrom\s+(?:information_schema|mysql\.|sys\.|pg_|all_|user_|dba_|dual\b|sqlite_|msysobjects|sysobjects|syscolumns)

#@ message: SQL injection: quote followed by a boolean tautology
# (line 15's quote-then-tautology pattern is at the end, without JS/CSS decoding: see there)
['"`]\s*\)*\s*(?:or|xor|\|\|)\s+\(*\s*(?:true|false|not\s+\w+|-?\d+|'[^']*'|"[^"]*")\s*\)*\s*(?:--|#|/\*|;|$)
['"]\s*(?:or|\|\|)\s*['"][^'"]*['"]\s*=\s*['"]
['"]\s*(?:or|and|xor)\s+[\d\s+*/-]{1,30}(?:=|<|>)\s*[\d(+-]
# (line 20 held the XPath quote-then-boolean-function probe: it is in args/xpath.re, whose
# values keep `/*`, a path step in XPath; line numbers here are rule ids, so kept)
#@ message: SQL injection: numeric tautology
^\s*-?\d+\s*\)*\s*(?:or|and|xor|&&|\|\|)\s+\(*\s*-?\d+\s*(?:=|<>|!=|<=?|>=?|\blike\b)\s*\(*\s*-?\d+
\b\d+\s*\)*\s+(?:or|and|xor)\s+\(*\s*\d+\s*(?:(?:=|<>|!=)\s*\(*\s*\d+\s*\)*\s*(?:--|#|/\*|;|$)|[<>]\s*\(*\s*\d+\s*\)*\s*(?:--|#|/\*|;))
\b(?:or|and)\s+\d+\s*(?:=|<>|!=)\s*\d+\s*(?:--|#|/\*|;|$)
#@ message: SQL injection: value is a quote-operator-quote probe
['"]\s*(?:or|and|xor)\s*(?:''|"")\s*[-&^*|+=\s]\s*['"]
['"`]\s*\)*\s*(?:or|xor|and)['"(]\s*[\w'".]*\s*(?:=|<>|!=|<|>|\blike\b)
^\s*(?:or|and|xor|\|\||&&)\s+\(*['"]?[\w.]+['"]?\s*(?:=|<>|!=|<|>|\blike\b)\s*\(*['"]?[\w.]+
^\s*(?:or|and)\s+(?:true|false|\d+)\s*(?:--|#|/\*|;|$)
^\s*(?:order|group)\s+by\s+\d+\s*(?:--|#|/\*|;|$)
^\s*select\s+(?:@@\w+|version\s*\(|current_(?:user|database|setting|schema)\b|session_user\b|system_user\b|user\s*\(|database\s*\(|schema\s*\(|\*\s+from\s+(?:pg_|information_schema|mysql\.|sys))
^\s*['"]\s*(?:create|grant|insert|update|delete|drop|alter|exec|execute|truncate|shutdown)\s
'\s*\|\|\s*[\w.]+\s*\([^)]*\)\s*\|\|\s*'
\bcopy\s+\w+\s+(?:from|to)\s+'/
\bbackup\s+database\s+\w+\s+to\s+disk
^\s*['"]\s*(?:[-&^*|+=]|\|\||or|and|xor|div)\s*['"]\s*$

#@ message: SQL injection: quote then comment terminator
(?:^\s*|[\w\])@.])['"]\s*\)*\s*(?:--(?:[\s\-+]*$|\+|-[^\s\-])|#\s*$|;\s*(?:--|#))
^[\w@.-]{1,64}['"]\s*\)*\s*#|^[\w@.-]{1,64}`\s*\)*\s*#(?:\s|$)

#@ message: SQL injection: stacked query
;\s*(?:drop|truncate|alter)\s+(?:table|database|schema|user|view|index|procedure|function|trigger)\s+[\w.`"\[]+
;\s*(?:delete\s+from|insert\s+into|update\s+[\w.`"\[]+\s+set\b|create\s+(?:table|user|database|function|procedure|trigger|login)\b|exec(?:ute)?\s+(?:\w+\.\.|\w+\.dbo\.)?(?:xp|sp)_|exec(?:ute)?\s*\(|declare\s+@|shutdown\s*(?:--|#|;|$|with\b)|waitfor\s+delay|grant\s+\w+\s+on\b|select\s+(?:\*|\d|@|pg_sleep|sleep|benchmark|[\w.]+\s*(?:,|\(|\bfrom\b)))
['"]\s*\)*\s*;\s*(?:drop|insert|update|delete|select|exec|execute|declare|shutdown|waitfor|create|alter|truncate|copy|set)\b
['"\)]\s*drop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?[\w.`"\[\]]+\s*(?:;|--|#|/\*|$)

#@ message: SQL injection: time-based blind (sleep/benchmark/waitfor/pg_sleep)
(?:^|['")(,=]|';|";|\b(?:and|or|xor|select|if|then|else|when|rlike|not)\b|\|\||&&)\s*\(?\s*sleep\s*\(\s*\d
(?:^|[^\w.])sleep\s*\(\s*\d+(?:\.\d+)?\s*\)\s*(?:--|#|$)
\bpg_sleep\b
\bbenchmark\s*\(\s*\d+\s*,
\bwaitfor\s+(?:delay|time)\s+['"]
\bdbms_(?:lock\.sleep|pipe\.receive_message)\s*\(
\brandomblob\s*\(\s*\d{5,}
\bgenerate_series\s*\(\s*1\s*,\s*\d{6,}

#@ message: SQL injection: error-based function
\b(?:extractvalue|updatexml)\s*\(
\bexp\s*\(\s*~\s*\(
\bfloor\s*\(\s*rand\s*\(\s*\d*\s*\)\s*\*\s*2\s*\)
\bconvert\s*\(\s*(?:int|varchar|nvarchar)\s*,\s*\(?\s*(?:select|@@|db_name|user|char|chr)\b
\bcast\s*\(\s*\(?\s*(?:select|@@|chr\s*\(|char\s*\(|version\s*\(|current_user|db_name|user\s*\()
\b(?:ctxsys\.drithsx\.sn|utl_inaddr\.get_host_\w+|utl_http\.request|dbms_xmlgen\.\w+|xmltype|ordsys\.ord_dicom\.getmappingxpath)\s*\(
\bname_const\s*\(
\bgtid_subset\s*\(\s*(?:concat|\(?\s*select|@@|user|version)
\belt\s*\(\s*\d+\s*=\s*\d+
\bmake_set\s*\(\s*\d+\s*=\s*\d+
\b(?:rlike|regexp)\s*\(\s*select\b
\bprocedure\s+analyse\s*\(

#@ message: SQL injection: database fingerprinting / metadata
@@(?:version|datadir|hostname|basedir|servername|language|spid|tmpdir|version_compile_os)\b
\bfrom\s+(?:information_schema|mysql\.(?:user|db)\b|sys\.(?:tables|columns|objects|databases|sql_logins|server_principals|schemas)\b|master\.\.sys\w+|sysobjects\b|syscolumns\b|sysusers\b|sysdatabases\b|msysobjects\b|msysaccessobjects\b|pg_(?:shadow|user|database|tables|catalog\.|namespace|class)\b|all_(?:tables|tab_columns|users)\b|user_(?:tables|tab_columns|objects|users)\b|dba_(?:users|tables)\b|v\$version\b|sqlite_(?:master|schema|temp_master)\b|rdb\$\w+|dual\b)
\bsubstr(?:ing)?\s*\(\s*\(?\s*(?:select\b|@@|version\s*\(|user\s*\(|database\s*\(|banner\b|current_user\b)
#@ severity: error
\binformation_schema\s*\.\s*(?:tables|columns|schemata|routines|user_privileges|processlist)\b
(?:\bselect|,|\(|\bconcat)\s*(?:version|database|schema|current_user|session_user|system_user|user_name|db_name|suser_sname|host_name|current_database)\s*\(\s*\)
#@ severity: critical

#@ message: SQL injection: dangerous procedure or file access
\bprepare\s+\w+\s+from\s+@\w+
\bxp_(?:cmdshell|dirtree|fileexist|regread|regwrite|servicecontrol|availablemedia|subdirs|loginconfig|ntsec_enumdomains|terminate_process|reg\w+)\b
\bsp_(?:oacreate|oamethod|executesql|makewebtask|addextendedproc|password|configure|addsrvrolemember|adduser|addlogin|execute_external_script|oagetproperty)\b
\b(?:openrowset|opendatasource|openquery)\s*\(
\bbulk\s+insert\s+\w
\bload_file\s*\(
\binto\s+(?:out|dump)file\s+['"]
\bload\s+data\s+(?:local\s+)?infile\b
\bpg_(?:read_file|read_binary_file|ls_dir|stat_file)\s*\(
\blo_(?:import|export)\s*\(
\bcopy\s+(?:\(.{1,100}?\)|[\w.]+)\s+(?:from|to)\s+program\b
\bdbms_(?:java|scheduler|xslprocessor|advisory|sql)\.\w+

#@ message: SQL injection: string building to evade filters
\bchar\s*\(\s*\d+(?:\s*,\s*\d+)*\s*\)\s*(?:\+|\|\||&|,)?\s*char\s*\(\s*\d
\bchr\s*\(\s*\d+\s*\)\s*(?:\|\||\+|&)\s*chr\s*\(
\bconcat(?:_ws)?\s*\(\s*(?:0x[0-9a-f]+|char\s*\(|chr\s*\(|@@|\(?\s*select\b|version\s*\(|user\s*\(|database\s*\(|'~'|0x7e)
\bgroup_concat\s*\(
\bunhex\s*\(\s*(?:hex\s*\(|0x|'[0-9a-f]{6,})

#@ message: SQL injection: subquery or boolean function in injected condition
\bexecute\s+immediate\s+['"]
\bselect\s+(?:\d+\s*,\s*){2,}\d+\s*(?:--|#|;|$|\bfrom\b)
\b\d+\.e\s*\(\s*[\w(]|\b\d+e\s*\(\s*(?:(?:ascii|ord|hex|substr(?:ing)?|mid|char|concat(?:_ws)?|select|database|user|version|if|sleep|benchmark)\b|0x[0-9a-f])
\(\s*select\s+(?:\*|\d|'|"|null\b|@@|count\s*\(|case\b|if\s*\(|sleep\s*\(|pg_sleep|benchmark|char\s*\(|concat|substr|ascii|[\w.]+\s*(?:,|\(|\bfrom\b))
\b(?:and|or|xor|&&|\|\|)\s*\(?\s*(?:ascii|ord|substr(?:ing)?|mid|length|char_length|bit_length|hex|unhex|bin|conv|instr|locate|strcmp|elt|make_set|extractvalue|updatexml|sleep|benchmark|pg_sleep|unicode|nchar|exists|select)\s*\(
\bif\s*\(\s*\(?\s*(?:ascii|ord|substr(?:ing)?|mid|length|select|user|version|database|@@|\d+\s*=\s*\d+|now\s*\(\s*\)\s*=\s*sysdate)
\b(?:in|exists)\s*\(\s*select\s+(?:\*|\d|null\b|@@|count|[\w.]+\s+from\b)
\b(?:and|or)\s+\d+\s*=\s*(?:cast|convert|concat|char|chr|\(\s*select)\s*\(?
['"]\s*(?:\+|\|\||&&?|\bxor\b|\bdiv\b|-|\*|\s)\s*\(?\s*(?:sleep|benchmark|pg_sleep|if|ascii|substr(?:ing)?|char|chr|concat|extractvalue|updatexml)\s*\(
['"]\s*(?:\+|\|\||&&?|\bxor\b|-|\*|\s)\s*\(\s*select\s
(?:['")]|\d)\s*(?:order|group)\s+by\s+\d+(?:\s*,\s*\d+)*\s*(?:--|#|/\*|;|$|\s+having\b)
\bhaving\s+\d+\s*=\s*\d+
\bwhere\s+\d+\s*=\s*\d+\s*(?:--|#|;|$|\b(?:and|or|union|order|limit)\b)
\bcase\s+when\s*\(?\s*\d+\s*=\s*\d+\s*\)?\s*then\b
\b\d+e\d*union\b
\bdeclare\s+@\w+\s+(?:n?varchar|n?char|int|sysname|table|binary|varbinary)\b
\bexec(?:ute)?\s*\(\s*@\w+\s*\)
\bexec(?:ute)?\s+(?:master\.\.|master\.dbo\.|sys\.)?(?:xp|sp)_\w+
'\s*\|\|\s*\(?\s*(?:select|chr|char|dbms_\w+|utl_\w+|pg_sleep|\(\s*select)\b

#@ paranoia: 2
#@ severity: error
#@ message: SQL injection (PL2): SQL statement shape
\bselect\s+(?:top\s+\d+\s+)?[\w.*,\s()`"]{1,100}?\s+from\s+[\w.`"\[\]]+(?:\s+(?:where|order|group|limit|join|union)\b|\s*(?:;|--|#|$))
\binsert\s+into\s+[\w.`"\[\]]+\s*(?:\([^)]*\)\s*)?values\s*\(
\bupdate\s+[\w.`"\[\]]+\s+set\s+[\w.`"]+\s*=
\bdelete\s+from\s+[\w.`"\[\]]+\s+where\b
\bdrop\s+(?:table|database|schema)\s+(?:if\s+exists\s+)?[\w.`"\[\]]+\s*(?:;|--|#|$)
\bunion\b.{1,100}?\bselect\b
['"]\s*\|\|\s*['"]
\bcase\s+when\b.{1,100}?\bthen\b.{1,60}?\belse\b
['"]\s*(?:or|and)\s+['"]?\w+['"]?\s*(?:=|<|>|like)
\b(?:sysobjects|syscolumns|sysusers|pg_shadow|pg_catalog|sqlite_master|all_tab_columns|information_schema)\b

# The quote-then-tautology pattern (it was line 15). A quote breaks out of the application's
# string only after balanced pairs of its kind: quotes are counted from the value's start
# (a backslash is read both ways: MySQL escapes with it, PostgreSQL and MSSQL do not), so
# query languages that quote whole literals pass:
# JQL `status in ("In Progress", "To Do") AND assignee = x`, SOQL `IN ('a', 'b') AND
# Amount > 5`, SQL console statements. A value that starts with a quoted literal is read both
# ways (a numeric context: `"1" and force_error=error`), and a line comment may come between
# the quote and the condition (`x'-- '` then a line break: compressed to a space here). No
# JS/CSS decoding: it would turn `\'` into a bare quote.
#@ transforms: urlDecodeUni htmlEntityDecode removeNulls unicodeNormalize replaceComments compressWhitespace
#@ paranoia: 1
#@ severity: critical
#@ message: SQL injection: quote followed by a boolean tautology
^(?:(?:[^'\n]|\\[^\n]|'(?:[^'\n]|\\[^\n])*')*'|(?:[^"\n]|\\[^\n]|"(?:[^"\n]|\\[^\n])*")*"|(?:[^`\n]|\\[^\n]|`(?:[^`\n]|\\[^\n])*`)*`|\s*\(*\s*(?:'(?:[^'\n]|\\[^\n])*'|"(?:[^"\n]|\\[^\n])*"|`(?:[^`\n]|\\[^\n])*`))(?:\s*(?:--|#)[^\n]{0,100}?)?\s*\)*\s*(?:or|xor|and|\|\||&&)\s+\(*\s*[\w'".]+(?:\s*[-+*/%]\s*[\w'".]+)*\s*\)*\s*(?:=(?:[^=]|$)|<>|!=|<=?|>=?|\blike\b|\brlike\b|\bregexp\b|\bbetween\b|\bsounds\s+like\b|\bin\s*\(|\bis\s+(?:not\s+)?null\b)
#@ message: SQL injection: quote then a PostgreSQL JSON condition
['"]\s*\)*\s*(?:or|and)\s+\(*\s*(?:'[^'\n]{0,200}'|"[^"\n]{0,200}")\s*::\s*jsonb?\s*(?:@>|<@|\?[|&]?|->>?|=)
