# PHP code injection. PHP source in a code-host upload (file parts are not args) or a plain
# <?php echo "hi"; ?> snippet passes at PL1; patterns need a dangerous call with attacker input,
# a command string, an evaluation of decoded data, or a probe shape.
#@ category: php-injection
#@ transforms: default
#@ severity: critical
#@ paranoia: 1
#@ message: PHP injection: open tag with a dangerous function
<\?(?:php|=)?[^?]{0,200}?\b(?:system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|eval|assert|create_function|include|require|file_put_contents|fwrite|fsockopen|base64_decode|gzinflate|str_rot13|move_uploaded_file|phpinfo)\s*\(
<\?(?:php|=)?[^?]{0,200}?\$_(?:get|post|request|cookie|server|files)\b
<\?=?\s*`
#@ message: PHP injection: dangerous function called with attacker input
\b(?:system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|eval|assert|create_function|call_user_func(?:_array)?|array_map|usort|preg_replace|include|require|file_get_contents|file_put_contents|unserialize)\s*\(\s*['"]?\s*\$_(?:get|post|request|cookie|server|files)\b
\b(?:system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec|eval)\s*\(\s*['"]\s*(?:/(?:usr/)?(?:local/)?s?bin/)?(?:id|whoami|uname|ls|dir|cat|wget|curl|nc|bash|sh|ping|echo|type|net|ipconfig|ifconfig|pwd|sleep)\b
\b(?:eval|assert)\s*\(\s*(?:base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|hex2bin|urldecode|rawurldecode|stripslashes|\$_|file_get_contents|['"][^'"]*(?:system|exec|passthru|phpinfo)\s*\()
\bpreg_replace\s*\(\s*['"]/.{0,100}/[a-z]*e[a-z]*['"]\s*,
\bcreate_function\s*\(\s*['"][^'"]*['"]\s*,\s*['"][^'"]*(?:system|exec|eval|passthru|\$_)
\bcall_user_func(?:_array)?\s*\(\s*['"](?:system|exec|passthru|shell_exec|assert|eval|popen|proc_open)['"]
\bfile_put_contents\s*\(\s*['"][^'"]*\.(?:php\d?|phtml|phar|inc)['"]
#@ message: PHP injection: probe or breakout
@\s*(?:exec|system|passthru|shell_exec|eval|assert|popen|proc_open)\s*\(
\b(?:eval|assert|system|exec|passthru)\s*\(\s*(?:chr|char|base64_decode|str_rot13|hex2bin|gzinflate)\s*\(
\b(?:system|exec|passthru|shell_exec|popen)\s*\(\s*(?:id|whoami|uname|ls|pwd|dir|ver)\s*\)\s*;
\{\s*\$_(?:get|post|request|cookie|server)\s*\[
(?:^|[;'"`.{@(|&:])\s*php(?:info|version)\s*\(\s*\)
\$\{\s*@?\s*(?:phpinfo|system|exec|passthru|eval|print|die|assert|sleep)\s*\(
['"]\s*\.\s*(?:system|exec|passthru|shell_exec|phpinfo|eval|assert)\s*\(
['"]\s*\)*\s*;\s*(?:system|exec|passthru|shell_exec|eval|assert|phpinfo|print|echo|die)\s*\(
\b(?:print|echo|die)\s*\(?\s*md5\s*\(\s*['"]?\d+
#@ message: PHP object injection (serialized object)
(?:^|[;{])\s*o:\d+:"[\w\\]+":\d+:\{
\bc:\d+:"[\w\\]+":\d+:\{
#@ message: PHP render-array injection (Drupal)
(?:^|\[|\.)#(?:post_render|pre_render|lazy_builder|access_callback|value_callback|submit|validate)\b
#@ paranoia: 2
#@ severity: error
#@ message: PHP injection (PL2): PHP open tag
<\?php\b
\b(?:system|exec|passthru|shell_exec|popen|proc_open|eval|assert)\s*\(\s*['"$]
#@ transforms: urlDecodeUni urlDecodeUni removeNulls
#@ severity: critical
#@ paranoia: 1
#@ message: PHP injection: ThinkPHP controller invocation (CVE-2018-20062 family)
[\\/|]think[\\/|]+(?:app|container|request)[\\/|]+(?:invokefunction|invokemethod|invokeclass|input|filter)\b
[\\/|]think[\\/|]+template[\\/|]+driver[\\/|]+file[\\/|]+write\b
