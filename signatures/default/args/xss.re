# Cross-site scripting in user input: markup. Values are decoded (URL, JS and CSS escapes, NFKC so
# full-width brackets become ASCII) and whitespace is compressed, but HTML entities are NOT decoded
# here: &lt;script&gt; in a rich-text post is inert text, not a tag. Entity-encoded script URLs and
# JS payloads are caught by xss_js.re, which decodes entities. Plain HTML from rich-text
# editors (p, a href=https, img src alt, tables, inline styles, iframes of video players) must pass:
# patterns need a script tag, an event handler attribute, a script URL, or a JS breakout.
#@ category: xss
#@ transforms: urlDecodeUni jsDecode cssDecode removeNulls unicodeNormalize compressWhitespace
#@ severity: critical
#@ paranoia: 1

#@ message: XSS: script tag
<script\b
</script\s*>
#@ message: XSS: event handler attribute inside a tag
# (a handler in braces is JSX when it is only a reference or an arrow function,
# `onClick={handleClick}`, `{() => open(i)}`, `{async () => ...}`; anything else in braces runs)
<[a-z][\w:.-]*(?:[\s/"'`]+[^<>]*?)?[\s/"'`]on(?:abort|activate|afterprint|afterscriptexecute|afterupdate|animationcancel|animationend|animationiteration|animationstart|auxclick|beforeactivate|beforecopy|beforecut|beforedeactivate|beforeinput|beforepaste|beforeprint|beforescriptexecute|beforetoggle|beforeunload|beforeupdate|begin|blur|bounce|canplay|canplaythrough|cellchange|change|click|close|command|contentvisibilityautostatechange|contextlost|contextmenu|contextrestored|controlselect|copy|cuechange|cut|dataavailable|datasetchanged|datasetcomplete|dblclick|deactivate|drag|dragdrop|dragend|dragenter|dragexit|dragleave|dragover|dragstart|drop|durationchange|emptied|end|ended|error|errorupdate|filterchange|finish|focus|focusin|focusout|formdata|fullscreenchange|fullscreenerror|gotpointercapture|hashchange|help|input|invalid|keydown|keypress|keyup|layoutcomplete|load|loadeddata|loadedmetadata|loadend|loadstart|losecapture|lostpointercapture|message|messageerror|mousedown|mouseenter|mouseleave|mousemove|mouseout|mouseover|mouseup|mousewheel|move|moveend|movestart|mozfullscreenchange|offline|online|outofsync|pagehide|pagereveal|pageshow|pageswap|paste|pause|play|playing|pointercancel|pointerdown|pointerenter|pointerleave|pointermove|pointerout|pointerover|pointerrawupdate|pointerup|popstate|progress|propertychange|ratechange|readystatechange|repeat|reset|resize|resume|reverse|rowenter|rowexit|rowsdelete|rowsinserted|scroll|scrollend|scrollsnapchange|scrollsnapchanging|search|securitypolicyviolation|seek|seeked|seeking|select|selectionchange|selectstart|show|slotchange|stalled|start|storage|submit|suspend|synchronize|timeerror|timeupdate|toggle|touchcancel|touchend|touchmove|touchstart|track|transitioncancel|transitionend|transitionrun|transitionstart|unhandledrejection|unload|urlflip|volumechange|waiting|webkitanimationend|webkitanimationiteration|webkitanimationstart|webkitmouseforcechanged|webkitmouseforcedown|webkitmouseforceup|webkitmouseforcewillbegin|webkitplaybacktargetavailabilitychanged|webkitpresentationmodechanged|webkittransitionend|webkitwillrevealbottom|wheel|zoom|svgload|svgunload|svgerror|svgabort|svgresize|svgscroll|svgzoom)\s*=\s*(?:["'`]\s*[^\s"'`]|[^\s"'`>={]|\{\s*(?:[^\s\w$('"\[]|[\w$.\[\]'"]+(?:[^\s\w$.\[\]'"}=]|\s+[^\s=}(]|=[^>])|\((?:[^()]*\()+|\([^()]*\)\s*[(`]))
#@ message: XSS: quote breaks out of an attribute and adds an event handler
['"`]\s*/?\s*on(?:abort|activate|afterprint|afterscriptexecute|afterupdate|animationcancel|animationend|animationiteration|animationstart|auxclick|beforeactivate|beforecopy|beforecut|beforedeactivate|beforeinput|beforepaste|beforeprint|beforescriptexecute|beforetoggle|beforeunload|beforeupdate|begin|blur|bounce|canplay|canplaythrough|cellchange|change|click|close|command|contentvisibilityautostatechange|contextlost|contextmenu|contextrestored|controlselect|copy|cuechange|cut|dataavailable|datasetchanged|datasetcomplete|dblclick|deactivate|drag|dragdrop|dragend|dragenter|dragexit|dragleave|dragover|dragstart|drop|durationchange|emptied|end|ended|error|errorupdate|filterchange|finish|focus|focusin|focusout|formdata|fullscreenchange|fullscreenerror|gotpointercapture|hashchange|help|input|invalid|keydown|keypress|keyup|layoutcomplete|load|loadeddata|loadedmetadata|loadend|loadstart|losecapture|lostpointercapture|message|messageerror|mousedown|mouseenter|mouseleave|mousemove|mouseout|mouseover|mouseup|mousewheel|move|moveend|movestart|mozfullscreenchange|offline|online|outofsync|pagehide|pagereveal|pageshow|pageswap|paste|pause|play|playing|pointercancel|pointerdown|pointerenter|pointerleave|pointermove|pointerout|pointerover|pointerrawupdate|pointerup|popstate|progress|propertychange|ratechange|readystatechange|repeat|reset|resize|resume|reverse|rowenter|rowexit|rowsdelete|rowsinserted|scroll|scrollend|scrollsnapchange|scrollsnapchanging|search|securitypolicyviolation|seek|seeked|seeking|select|selectionchange|selectstart|show|slotchange|stalled|start|storage|submit|suspend|synchronize|timeerror|timeupdate|toggle|touchcancel|touchend|touchmove|touchstart|track|transitioncancel|transitionend|transitionrun|transitionstart|unhandledrejection|unload|urlflip|volumechange|waiting|webkitanimationend|webkitanimationiteration|webkitanimationstart|webkitmouseforcechanged|webkitmouseforcedown|webkitmouseforceup|webkitmouseforcewillbegin|webkitplaybacktargetavailabilitychanged|webkitpresentationmodechanged|webkittransitionend|webkitwillrevealbottom|wheel|zoom|svgload|svgunload|svgerror|svgabort|svgresize|svgscroll|svgzoom)\s*=\s*(?:["'`]\s*[^\s"'`]|[^\s"'`>={]|\{\s*(?:[^\s\w$('"\[]|[\w$.\[\]'"]+(?:[^\s\w$.\[\]'"}=]|\s+[^\s=}(]|=[^>])|\((?:[^()]*\()+|\([^()]*\)\s*[(`]))
#@ message: XSS: a value that starts with an event handler (injection into an unquoted attribute)
# (`=` right after the name: code in prose is written `onload = init();`)
^\s*on(?:abort|activate|afterprint|afterscriptexecute|afterupdate|animationcancel|animationend|animationiteration|animationstart|auxclick|beforeactivate|beforecopy|beforecut|beforedeactivate|beforeinput|beforepaste|beforeprint|beforescriptexecute|beforetoggle|beforeunload|beforeupdate|begin|blur|bounce|canplay|canplaythrough|cellchange|change|click|close|command|contentvisibilityautostatechange|contextlost|contextmenu|contextrestored|controlselect|copy|cuechange|cut|dataavailable|datasetchanged|datasetcomplete|dblclick|deactivate|drag|dragdrop|dragend|dragenter|dragexit|dragleave|dragover|dragstart|drop|durationchange|emptied|end|ended|error|errorupdate|filterchange|finish|focus|focusin|focusout|formdata|fullscreenchange|fullscreenerror|gotpointercapture|hashchange|help|input|invalid|keydown|keypress|keyup|layoutcomplete|load|loadeddata|loadedmetadata|loadend|loadstart|losecapture|lostpointercapture|message|messageerror|mousedown|mouseenter|mouseleave|mousemove|mouseout|mouseover|mouseup|mousewheel|move|moveend|movestart|mozfullscreenchange|offline|online|outofsync|pagehide|pagereveal|pageshow|pageswap|paste|pause|play|playing|pointercancel|pointerdown|pointerenter|pointerleave|pointermove|pointerout|pointerover|pointerrawupdate|pointerup|popstate|progress|propertychange|ratechange|readystatechange|repeat|reset|resize|resume|reverse|rowenter|rowexit|rowsdelete|rowsinserted|scroll|scrollend|scrollsnapchange|scrollsnapchanging|search|securitypolicyviolation|seek|seeked|seeking|select|selectionchange|selectstart|show|slotchange|stalled|start|storage|submit|suspend|synchronize|timeerror|timeupdate|toggle|touchcancel|touchend|touchmove|touchstart|track|transitioncancel|transitionend|transitionrun|transitionstart|unhandledrejection|unload|urlflip|volumechange|waiting|webkitanimationend|webkitanimationiteration|webkitanimationstart|webkitmouseforcechanged|webkitmouseforcedown|webkitmouseforceup|webkitmouseforcewillbegin|webkitplaybacktargetavailabilitychanged|webkitpresentationmodechanged|webkittransitionend|webkitwillrevealbottom|wheel|zoom|svgload|svgunload|svgerror|svgabort|svgresize|svgscroll|svgzoom)=\s*["'`]?\s*(?:[\w$.\]]+\s*[(=]|javascript:)
#@ message: XSS: autofocus with an onfocus handler
\bautofocus\b[^<>]{0,40}?\bonfocus(?:in)?\s*=\s*["'`]?\s*(?:[\w$.\]]+\s*[(=`]|javascript:)
#@ message: XSS: data URL carrying HTML or script
data\s*:\s*(?:text/html|text/javascript|application/(?:x-)?(?:javascript|ecmascript|xhtml\+xml)|text/xml|image/svg\+xml\s*[;,][^"'>]*(?:base64|<script|onload))
#@ message: XSS: dangerous element
^\s*['"`]?\s*/?\s*>\s*<[a-z][\w:-]*[\s/>]
<[a-z][\w:.-]*(?:[\s/"'`]+[^<>]*?)?[\s/"'`]on[a-z]{3,}\s*=\s*(?:["'`]\s*[^\s"'`]|[^\s"'`>={]|\{\s*(?:[^\s\w$('"\[]|[\w$.\[\]'"]+(?:[^\s\w$.\[\]'"}=]|\s+[^\s=}(]|=[^>])|\((?:[^()]*\()+|\([^()]*\)\s*[(`]))
<link\b[^>]*\bhref\s*=
<xml\b[^>]*\bsrc\s*=
\bdata(?:src|fld)\s*=\s*["']?#?\w
\bimplementation\s*=\s*["']?#default#
\bxmlns\s*=\s*["']?http://www\.w3\.org/2001/xml-events
<\?xml-stylesheet\b[^>]*\bhref\s*=\s*["']?\s*(?:#|javascript:|data:)
<math\b[^>]*>.{0,80}?\bxlink:href\s*=
\bexpr(?:/\*[^*]*\*/)+ession\s*\(
(?:^|[\s+])adw-\s*script
<(?:object|embed|applet|frameset|frame|isindex|xss)[\s/>]
<iframe\b[^>]*\bsrcdoc\s*=
\bsrcdoc\s*=\s*["']?\s*<
<meta[\s/][^>]*http-equiv\s*=\s*["']?\s*(?:refresh|set-cookie|content-security-policy|link)
<base[\s/][^>]*\bhref\s*=
<link[\s/][^>]*\brel\s*=\s*["']?\s*import\b
<style\b[^>]*>[^<]*(?:@import|expression\s*\(|javascript:|behavior\s*:|-moz-binding)
<svg\b[^>]*>\s*<(?:script|set|animate|foreignobject)\b
<math\b[^>]*>.{0,80}?<(?:mglyph|malignmark|maction|mtext)\b.{0,80}?<(?:style|img|script)\b
<noscript\b[^>]*>.{0,40}?<[a-z]+\s[^>]*title\s*=\s*["'][^"']*</noscript
#@ message: XSS: CSS expression / binding
\bstyle\s*=\s*["']?[^"'>]*(?:\bexpression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url\s*\()
#@ paranoia: 2
#@ severity: error
#@ message: XSS (PL2): risky markup
<iframe\b
<svg\b
<math\b
<form\b[^>]*>
<style\b
\bdocument\.cookie\b
\bstring\.fromcharcode\s*\(
\bon(?:abort|activate|afterprint|afterscriptexecute|afterupdate|animationcancel|animationend|animationiteration|animationstart|auxclick|beforeactivate|beforecopy|beforecut|beforedeactivate|beforeinput|beforepaste|beforeprint|beforescriptexecute|beforetoggle|beforeunload|beforeupdate|begin|blur|bounce|canplay|canplaythrough|cellchange|change|click|close|command|contentvisibilityautostatechange|contextlost|contextmenu|contextrestored|controlselect|copy|cuechange|cut|dataavailable|datasetchanged|datasetcomplete|dblclick|deactivate|drag|dragdrop|dragend|dragenter|dragexit|dragleave|dragover|dragstart|drop|durationchange|emptied|end|ended|error|errorupdate|filterchange|finish|focus|focusin|focusout|formdata|fullscreenchange|fullscreenerror|gotpointercapture|hashchange|help|input|invalid|keydown|keypress|keyup|layoutcomplete|load|loadeddata|loadedmetadata|loadend|loadstart|losecapture|lostpointercapture|message|messageerror|mousedown|mouseenter|mouseleave|mousemove|mouseout|mouseover|mouseup|mousewheel|move|moveend|movestart|mozfullscreenchange|offline|online|outofsync|pagehide|pagereveal|pageshow|pageswap|paste|pause|play|playing|pointercancel|pointerdown|pointerenter|pointerleave|pointermove|pointerout|pointerover|pointerrawupdate|pointerup|popstate|progress|propertychange|ratechange|readystatechange|repeat|reset|resize|resume|reverse|rowenter|rowexit|rowsdelete|rowsinserted|scroll|scrollend|scrollsnapchange|scrollsnapchanging|search|securitypolicyviolation|seek|seeked|seeking|select|selectionchange|selectstart|show|slotchange|stalled|start|storage|submit|suspend|synchronize|timeerror|timeupdate|toggle|touchcancel|touchend|touchmove|touchstart|track|transitioncancel|transitionend|transitionrun|transitionstart|unhandledrejection|unload|urlflip|volumechange|waiting|webkitanimationend|webkitanimationiteration|webkitanimationstart|webkitmouseforcechanged|webkitmouseforcedown|webkitmouseforceup|webkitmouseforcewillbegin|webkitplaybacktargetavailabilitychanged|webkitpresentationmodechanged|webkittransitionend|webkitwillrevealbottom|wheel|zoom|svgload|svgunload|svgerror|svgabort|svgresize|svgscroll|svgzoom)\s*=\s*["'`]?\s*[\w$.]+\s*\(
#@ paranoia: 1
#@ severity: error
#@ message: XSS: iframe (embeds are allowed alone; with anything else this blocks)
<iframe\b
#@ paranoia: 1
#@ severity: critical
#@ message: XSS: markup in UTF-7 (+ADw- is <) or a page charset switched to UTF-7
# UTF-7's base64 is case-sensitive (ADW or Adw is no <: `ADW-Series`, `Adwaita`); after
# +ADw- comes a letter, ! ? / or +AC8- (/); in one run, +ADwA then a letter, ! ? or / as
# the next sixteen bits' first six (+ADwAcw- is <s)
(?:^|[\s+])(?-i:ADw)(?:-(?:[a-z!?/]|\+AC8-)|(?-i:A[Q-WYZa-eIPL]))
<meta[\s/][^>]*charset\s*=\s*["']?\s*(?:x-imap4-modified-|unicode-1-1-|csunicode11)?utf-?7
#@ paranoia: 1
#@ severity: critical
#@ message: XSS: dangerous element
# an event handler attribute (as above) after a quoted attribute value holding `>`
# (`<x title=">" onfocus=...`): inside quotes `>` ends no tag
<[a-z][\w:.-]*[\s/](?:[^<>"'`]|"[^"<]*"|'[^'<]*'|`[^`<]*`)*?[\s/"'`]on[a-z]{3,}\s*=\s*(?:["'`]\s*[^\s"'`]|[^\s"'`>={]|\{\s*(?:[^\s\w$('"\[]|[\w$.\[\]'"]+(?:[^\s\w$.\[\]'"}=]|\s+[^\s=}(]|=[^>])|\((?:[^()]*\()+|\([^()]*\)\s*[(`]))
