# Prototype pollution (JavaScript back ends): __proto__ / constructor.prototype in argument names
# (?__proto__[isAdmin]=1, {"__proto__": {...}} gives the JSON leaf name __proto__.isAdmin) or values.
#@ category: prototype-pollution
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: Prototype pollution: __proto__ property
(?:^|[.\[])\s*['"]?__proto__['"]?\s*(?:$|[.\]\[])
#@ message: Prototype pollution: constructor.prototype
\bconstructor\s*(?:\.|\[\s*['"]?)\s*prototype\b
