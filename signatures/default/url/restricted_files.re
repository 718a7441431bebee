# Requests for files that must never be served: VCS metadata, environment and credential files,
# server configuration, backups and dumps, private keys, framework debug endpoints.
# Only the path part is considered (^[^?#]*), after double URL decoding, dot-segment
# normalization and lowercasing. Allowed on purpose: /.well-known/*, .gitignore, .github/*,
# .env.example (code hosts show those), /wp-admin/*, static assets.
#@ category: restricted-file
#@ transforms: urlDecodeUni urlDecodeUni removeNulls unicodeNormalize normalizePathWin lowercase
#@ severity: critical
#@ paranoia: 1
#@ message: Restricted file: version-control metadata
^[^?#]*/\.(?:git|svn|hg|bzr|darcs|cvs)(?:[/?#;]|$)
^[^?#]*/cvs/(?:root|entries|repository)\b
#@ message: Restricted file: environment / credentials file
^[^?#]*/\.env(?:\.(?:local|prod|production|dev|development|stage|staging|test|testing|bak|backup|old|save|orig|swp|dist\.local|\d+))?(?:[/?#;~]|$)
^[^?#]*/\.(?:htpasswd|htdigest|htaccess|user\.ini|bash_history|zsh_history|sh_history|mysql_history|psql_history|python_history|rediscli_history|viminfo|lesshst|netrc|npmrc|pypirc|pgpass|s3cfg|boto|git-credentials|gitconfig|dockercfg|my\.cnf|wget-hsts|ds_store)(?:[/?#;~.]|$)
^[^?#]*/\.(?:ssh|aws|azure|gnupg|kube|docker|gcloud|config/gcloud|claude|cursor|windsurf|continue|codex|cline|roo|kiro|aider|n8n)/
^[^?#]*/(?:id_rsa|id_dsa|id_ecdsa|id_ed25519)(?:\.pub)?(?:[?#;]|$)
^[^?#]*/(?:privkey|private[_-]?key|server|ssl|tls|host)\.(?:key|pem)(?:[?#;]|$)
^[^?#]*\.(?:ppk|jks|keystore|p12|pfx)(?:[?#;]|$)
^[^?#]*/(?:credentials|secrets?)\.(?:json|ya?ml|xml|txt|csv|env|ini|conf)(?:[?#;]|$)
^[^?#]*/(?:\.vscode/sftp\.json|sftp-config\.json|\.ftpconfig|\.remote-sync\.json|deployment-config\.json|filezilla\.xml|sitemanager\.xml|winscp\.ini)
#@ message: Restricted file: server / application configuration
^[^?#]*/(?:web|app)\.config(?:[.~]|[?#;]|$)
^[^?#]*/applicationhost\.config\b
^[^?#]*/(?:web-inf|meta-inf)(?:/|$)
^[^?#]*/wp-config\.php
^[^?#]*/(?:php\.ini|\.user\.ini|httpd\.conf|nginx\.conf|my\.ini|php-fpm\.conf)(?:[?#;]|$)
^[^?#]*/(?:application|bootstrap)(?:-[\w]+)?\.(?:properties|ya?ml)(?:[?#;]|$)
^[^?#]*/app/etc/(?:local|env|config)\.(?:xml|php)
^[^?#]*/config/(?:database|secrets|master\.key|credentials\.yml\.enc|storage)\.(?:yml|key|enc|php)
^[^?#]*/(?:elmah|trace)\.axd\b
^[^?#]*/global\.asax?(?:[?#;]|$)
#@ message: Restricted file: backup, dump or editor swap file
^[^?#]*\.(?:php\d?|phtml|asp|aspx|jsp|inc|cfg|conf|config|ini|sql|py|rb|env|ya?ml|json|xml|js|html?|cgi|pl|properties|log)(?:[._~-]+(?:bak|bkp|backup|old|orig|original|save|saved|swp|swo|tmp|temp|sav|copy|dist|\d{1,2})|~)(?:[?#;]|$)
^[^?#]*/\.[^/?#]+\.sw[op](?:[?#;]|$)
^/(?:[^/?#]+/)?[^/?#]*\.sql(?:\.(?:gz|bz2|zip|xz|7z|tar|tgz))?(?:[?#;]|$)
^[^?#]*/(?:[\w.-]*[_.-])?(?:backup|dump|db|database|data|mysql|mysqldump|pg_dump|site|www|localhost|wordpress|wp|users?|export|\d+)\.sql(?:\.(?:gz|bz2|zip|xz|7z|tar|tgz))?(?:[?#;]|$)
^[^?#]*/(?:backups?|www|wwwroot|site|website|htdocs|public_html|web|html|db|database|dump|bak|data|sql|mysql|[\w-]+_backup)\.(?:zip|tar|tar\.gz|tgz|rar|7z|gz|bz2|tar\.bz2)(?:[?#;]|$)
^[^?#]*\.(?:sqlite3?|sqlitedb|mdb|accdb)(?:[?#;]|$)
#@ message: Restricted file: logs and debug output
^[^?#]*/(?:laravel|debug|error_log|php_errors?|npm-debug|yarn-error|access_log|error|access)\.log(?:[?#;]|$)
^[^?#]*/(?:storage/logs|logs?)/[\w.-]+\.log(?:[?#;]|$)
^[^?#]*/(?:phpinfo|php_info|info\.php|test\.php)(?:\.php)?(?:[?#;]|$)
#@ message: Restricted endpoint: framework debug / management endpoint
^[^?#]*/actuator/(?:env|heapdump|threaddump|jolokia|gateway|configprops|logfile|shutdown|restart|mappings|trace|httptrace)(?:[/?#;]|$)
^[^?#]*/(?:jolokia|heapdump|jmx-console|web-console|invoker/jmxinvokerservlet|_ignition/execute-solution)(?:[/?#;]|$)
^[^?#]*/vendor/phpunit/phpunit/src/util/php/eval-stdin\.php
^[^?#]*/(?:cgi-bin|scripts|cgi-local|fcgi-bin)/(?:php\d?|php-cgi|perl|cmd|sh|bash)(?:\.exe)?(?:[?#;/]|$)
^[^?#]*/\.?htpasswd[\w.~-]*(?:[?#;]|$)
^[^?#]*/\.passwd(?:[.~_-][\w.-]*)?(?:[?#;]|$)
#@ paranoia: 2
#@ severity: error
#@ message: Restricted file (PL2): sensitive-looking file or admin endpoint
^[^?#]*/(?:server-status|server-info)(?:[?#;]|$)
^[^?#]*\.(?:bak|old|orig|backup|swp|tmp|log|db)(?:[?#;]|$)
^[^?#]*/(?:phpmyadmin|pma|myadmin|adminer(?:\.php)?|manager/html|console)(?:[/?#;]|$)
^[^?#]*/(?:composer\.(?:json|lock)|package(?:-lock)?\.json|yarn\.lock|gemfile(?:\.lock)?|dockerfile|docker-compose\.ya?ml|\.gitlab-ci\.yml|\.travis\.yml)(?:[?#;]|$)
^[^?#]*/\.(?:idea|vscode)/
#@ severity: critical
#@ paranoia: 1
#@ message: Known exploit endpoint (appliance and middleware RCE)
^[^?#]*/mgmt/tm/util/bash(?:[/?#;]|$)
^[^?#]*/sdk/weblanguage(?:[/?#;]|$)
^[^?#]*/bea_wls_internal/
^[^?#]*/(?:wls-wsat/coordinatorporttype|_async/asyncresponseservice)\d*(?:[/?#;]|$)
^[^?#]*\.jspx?(?:/|::\$data)(?:[?#;]|$)
/autodiscover/autodiscover\.json\?\s*@
^[^?#]*/think/+(?:app|container|request)/+(?:invokefunction|invokemethod|invokeclass|input|filter)(?:[/?#;]|$)
