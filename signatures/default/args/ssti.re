# Server-side template injection. Template variables ({{ first_name }}, {name}, ${HOME} in
# docs) are normal; patterns need an expression probe (arithmetic), object-graph walking
# (__class__, __globals__, constructor), or a known RCE gadget of a template engine.
#@ category: ssti
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: SSTI: arithmetic probe inside template delimiters
\{\{\s*-?\d+\s*[*+/\s-]\s*['"]?-?\d+['"]?\s*\}\}
\$\{\s*\{?\s*-?\d+\s*[*+/-]\s*-?\d+\s*\}?\s*\}
[#*@]\{\s*-?\d+\s*[*+/-]\s*-?\d+\s*\}
<%=?\s*-?\d+\s*[*+/-]\s*-?\d+\s*%>
\[\[\s*\$\{
@\(\s*\d+\s*[*+]\s*\d+\s*\)
\{\{\s*\d+\s*\*\s*['"]\d+['"]\s*\}\}
#@ message: SSTI: Python object graph walk
__(?:class|mro|subclasses|globals|builtins|base|bases|getattribute|init|import|loader|dict|code)__\s*(?:\.|\[|\(|\||\})
\{[{%][^}]{0,300}?__\w+__
\{[{%][^}]{0,300}?\.(?:subclasses|mro)\s*\(
\{%[^%]{0,200}?\bconfig\.(?:items|iteritems|values|keys)\s*\(
\{\{\s*dump\s*\(\s*app\s*\)
\{\{[^}]{0,200}?\b(?:config|self|request|lipsum|cycler|joiner|namespace|url_for|get_flashed_messages|range|dict)\s*(?:\.|\[|\|attr)
\{\{\s*(?:config|self|request|settings)(?:\.items\(\))?\s*\}\}
\|\s*attr\s*\(\s*['"](?:\\x5f|_){2}
\{%\s*(?:import|from\s+\w+\s+import|debug|include\s+['"]/|load\s+\w+)\b
\{\{[^}]{0,80}\bsettings\.\w*(?:secret|key|password|database)
\{\{[^}]{0,200}\[\s*['"]__[a-z]
\{\{[^}]{0,200}\[\s*['"][^'"\]]{0,20}['"]\s*[+~\s]\s*['"][^'"\]]{0,20}['"]\s*\]
#@ message: SSTI: Java template engines (FreeMarker, Velocity, Thymeleaf/SpEL, EL)
freemarker\.template\.utility\.(?:execute|objectconstructor|jythonruntime)
\?new\s*\(\s*\)
#set\s*\(\s*\$\w+\s*=
\$\w+\.class\.forname\s*\(
[$*#]\{\s*t\s*\(\s*(?:java|org|javax|com)\.[\w.]+\s*\)
__\$\{.{1,300}\}__
\$\{\s*(?:pagecontext|applicationscope|sessionscope|requestscope|initparam|header|cookie)\b[^}]*(?:\.getclass|\.getsession|\.getservletcontext|classloader)
#\{\s*(?:request|session|facescontext|application)\.[\w.]*(?:getclass|classloader|getruntime)
#@ message: SSTI: Twig / Smarty / ERB / Handlebars / Mako / Razor gadgets
_self\.env\.(?:registerundefinedfiltercallback|getfilter|setcache)
\{\{[^}]{0,100}\|\s*(?:filter|map|reduce|sort)\s*\(\s*['"](?:system|exec|passthru|shell_exec|popen|proc_open)['"]
\{\s*(?:system|exec|passthru|shell_exec|php|fetch|eval)\s*\(
\{/?php\}
\{\$smarty\.(?:version|template_object|server|env|const)
<%=?\s*(?:system|exec|spawn|[^%`]{0,100}`[^`]{1,200}`[^%]{0,100}%>|open3\s*\.\s*(?:capture[23]e?|popen[23]e?|pipeline)|%x|io\.popen|file\.(?:open|read)|kernel\.(?:exec|system)|open\s*\(\s*['"]\|)
\{\{#with\s+"[^"]*"\s+as\s+\|\w+\|\}\}
lookup\s+\w+\.sub\s+"constructor"
\$\{\s*self\.module\.
\$\{\s*(?:\w+\.)*(?:os|subprocess)\.(?:system|popen|run)\s*\(
@\s*system\.diagnostics\.process\.start\s*\(
\bglobal\.process\.mainmodule\b
\bconstructor\._load\s*\(
\{\{\s*(?:constructor\.constructor|this\.constructor)\b
#@ paranoia: 2
#@ severity: error
#@ message: SSTI (PL2): template expression with a method call
\{\{[^}]{0,100}\w\s*\(\s*[^)]*\)\s*\}\}
\$\{[^}]{0,100}\w\s*\(\s*[^)]*\)\s*\}
