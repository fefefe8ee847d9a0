/**
 * The names `exec` will not take from a document (README "exec",
 * SECURITY.md "exec, edit, key commands and HSM keys"). Two lists:
 *
 * - {@link neverFromDocument}: aes-payload's own variables and other tools'
 *   keys and key commands. Refused from every document, whoever wrote it:
 *   exec takes the key variables out of the command's environment, and a
 *   document must not put a key, a keyring or a key command back for a
 *   nested aes-payload or sops to use.
 * - {@link loadsCode}: variables that make a program load or run code of
 *   the environment's choosing, find other programs, or trust other
 *   servers and certificates. Refused from values nobody authenticated: a
 *   document encrypted to public keys (age recipients unless pinned, a JWE
 *   to an RSA or EC key), pending values, `--mac-only-encrypted` plaintext.
 *   Best effort: a denylist cannot know every program's variables.
 */

/** aes-payload's own variables (every AES_PAYLOAD_…), and sops' (SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, SOPS_GPG_EXEC, its recipients…), in any case (Windows reads names so). */
const NEVER = /^(?:AES_PAYLOAD_\w*|SOPS_\w*)$/i;

/** Whether exec refuses `name` from any document (or is one of `extra`, the key variables this run removes from the command's environment). */
export const neverFromDocument = (name: string, extra: readonly string[] = []): boolean => NEVER.test(name) || extra.includes(name);

const LOADS_CODE_NAMES = [
  // The dynamic loader and libc.
  'LD_\\w*', 'DYLD_\\w*', 'GLIBC_TUNABLES', 'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'HOSTALIASES', 'MALLOC_\\w*',
  // Shells, and what they and other tools start (editors, pagers, browsers, askpass helpers).
  'PATH', 'IFS', 'CDPATH', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND', 'ZDOTDIR', 'HOME', 'SHELL', 'TMPDIR', 'XDG_\\w*',
  'EDITOR', 'VISUAL', 'SUDO_EDITOR', 'SYSTEMD_EDITOR', 'FCEDIT', 'PAGER', 'MANPAGER', 'MANOPT', 'SYSTEMD_PAGER', 'PSQL_PAGER', 'GH_PAGER', 'GH_BROWSER', 'GH_EDITOR', 'BROWSER',
  'LESS', 'LESSOPEN', 'LESSCLOSE', 'LESSKEY', 'LESSKEYIN', 'SSH_ASKPASS', 'SUDO_ASKPASS', 'VIMINIT', 'EXINIT', 'MAKEFLAGS', 'MFLAGS',
  // Remote shells and the keys and agents other tools use.
  'RSYNC_RSH', 'RSYNC_CONNECT_PROG', 'CVS_RSH', 'GNUPGHOME', 'SSH_AUTH_SOCK', 'VAULT_ADDR', 'KUBECONFIG', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT',
  'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'CLOUDSDK_CONFIG', 'GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES',
  // Language runtimes and their package managers.
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_REPL_EXTERNAL_MODULE', 'NODE_EXTRA_CA_CERTS', 'NODE_TLS_REJECT_UNAUTHORIZED', 'ELECTRON_RUN_AS_NODE', 'YARN_\\w*',
  'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONHOME', 'PYTHONINSPECT', 'PYTHONBREAKPOINT', 'PYTHONWARNINGS', 'PYTHONUSERBASE', 'PYTHONEXECUTABLE',
  'PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'PIP_CONFIG_FILE', 'PIP_TRUSTED_HOST', 'UV_INDEX_URL', 'UV_EXTRA_INDEX_URL', 'UV_INDEX', 'UV_DEFAULT_INDEX', 'UV_FIND_LINKS', 'UV_CONFIG_FILE', 'UV_INSECURE_HOST',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'PERL5DB', 'RUBYOPT', 'RUBYLIB', 'RUBYGEMS_GEMDEPS', 'BUNDLE_GEMFILE', 'GEM_PATH', 'GEM_HOME',
  'LUA_INIT\\w*', 'LUA_PATH\\w*', 'LUA_CPATH\\w*', 'PHPRC', 'PHP_INI_SCAN_DIR', 'TCLLIBPATH', 'R_PROFILE', 'R_PROFILE_USER', 'R_ENVIRON', 'R_ENVIRON_USER', 'R_LIBS', 'R_LIBS_USER', 'R_HOME',
  'JULIA_LOAD_PATH', 'JULIA_DEPOT_PATH', 'ERL_AFLAGS', 'ERL_ZFLAGS', 'ERL_FLAGS', 'ERL_LIBS', 'EMACSLOADPATH',
  'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'JAVA_OPTIONS', 'JAVA_OPTS', 'JVM_OPTS', 'JAVA_HOME', 'JAVACMD', 'CLASSPATH',
  'MAVEN_OPTS', 'MAVEN_ARGS', 'GRADLE_OPTS', 'GRADLE_USER_HOME', 'SBT_OPTS', 'ANT_OPTS', 'ANT_ARGS', 'CATALINA_OPTS', 'ANSIBLE_\\w*', 'HELM_PLUGINS', 'HELM_CONFIG_HOME', 'HELM_DATA_HOME',
  'DOTNET_STARTUP_HOOKS', 'DOTNET_ADDITIONAL_DEPS', 'CORECLR_\\w*', 'COR_PROFILER\\w*', 'COR_ENABLE_PROFILING',
  'RUSTC_WRAPPER', 'RUSTC', 'RUSTC_WORKSPACE_WRAPPER', 'CARGO_HOME', 'CARGO_BUILD_\\w*', 'CARGO_TARGET_\\w*', 'CARGO_ALIAS_\\w*', 'CARGO_\\w*CREDENTIAL_PROVIDER',
  'GOFLAGS', 'GOTOOLCHAIN', 'GOPROXY', 'GOSUMDB', 'GONOSUMDB', 'GONOSUMCHECK', 'GONOPROXY', 'GOPRIVATE', 'GOINSECURE', 'GOENV', 'GOROOT', 'GOPATH', 'CGO_\\w*',
  // Compilers and build tools (gcc -fplugin=, -wrapper; CMake's compiler launchers).
  'CC', 'CXX', 'CPP', 'LD', 'AR', 'AS', 'NM', 'RANLIB', 'STRIP', 'FC', 'CFLAGS', 'CXXFLAGS', 'CPPFLAGS', 'LDFLAGS', 'CMAKE_\\w*', 'PKG_CONFIG', 'PKG_CONFIG_PATH', 'PKG_CONFIG_LIBDIR',
  'GIT_\\w*',
  // Certificates and TLS.
  'OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'SSLKEYLOGFILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE',
];
const LOADS_CODE_RE = new RegExp(`^(?:${LOADS_CODE_NAMES.join('|')})$`);
/** Names read whatever their case: proxies (curl reads http_proxy), npm's settings (npm_config_script_shell). */
const LOADS_CODE_ANY_CASE = /^(?:(?:http|https|ftp|all)_proxy|npm_config_\w*)$/i;

/** Whether exec refuses `name` from a value nobody authenticated (the denylist above). */
export const loadsCode = (name: string): boolean => LOADS_CODE_RE.test(name) || LOADS_CODE_ANY_CASE.test(name);
