# JavaScript that reaches a sink through a computed member of a global object, where the
# member name is decoded or assembled in place: top[8680439..toString(30)](1) (a number
# method spelling "alert"), self[atob('YWxlcnQ=')](1), window[['al','ert'].join('')](1),
# [1].map(self[atob('...')]), self[...].call(null,1). No markup and no sink name appears in
# the text. Only decoders and string builders count inside the brackets: code calls
# handlers by computed name (window[getHandlerName(type)](event)) and prose puts links
# after words such as "top" ([see (PDF)](https://...)). Also (0,self)[...](1), self?.[...],
# Reflect.apply(self[...],null,[1]), document[atob('d3JpdGU=')](...). `this[...]` is left
# out: code dispatches events by a joined name on it (this[['on', type].join('')](e)).
#@ category: xss
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: XSS: global object's computed member called
\b(?:top|window|self|parent|globalthis|frames|content|document)\s*\)?\s*(?:\?\.\s*)?\[(?:[^\[\]]|\[[^\[\]]{0,60}\]){0,60}(?:\b(?:atob|fromcharcode|fromcodepoint|tostring|join|reverse|concat|unescape|decodeuri(?:component)?)\s*[(`]|\d\.\.[a-z])(?:[^\[\]]|\[[^\[\]]{0,60}\]){0,60}\]\s*(?:\(|`|\?\.\s*\(|\.\s*(?:call|apply|bind)\b|\)|,)
