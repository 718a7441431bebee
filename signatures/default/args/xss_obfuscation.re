# JavaScript that reaches a sink through a computed member of a global object, where the
# member name is itself computed: top[8680439..toString(30)](1) (a number method spelling
# "alert"), self[atob('YWxlcnQ=')](1), window[['al','ert'].join('')](1). No markup and no
# sink name appears in the text. `this[...]` and `document[...]` are left out: code
# snippets call methods by computed name on them (this[handler](event)).
#@ category: xss
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XSS: global object's computed member called
\b(?:top|window|self|parent|globalthis|frames|content)\s*\[[^\[\]]{0,60}(?:\(|\d\.\.)[^\[\]]{0,60}\]\s*(?:\(|`)
