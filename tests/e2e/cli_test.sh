#!/usr/bin/env bash
# End-to-end tests of earth's command line (docs/cli.md): exit statuses,
# help and suggestions, flags and their EARTH_*/EARTHLY_* equivalents, .env
# and .arg, the config file and `earth config`, shell completion.
#
# Usage: EARTH=build/earth tests/e2e/cli_test.sh CASE...   (--list prints the cases)
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "$0")/lib.sh"

# A project whose +out writes out/a.txt from build arg A; +fail fails.
project() {
  earthfile <<'EOF2'
VERSION 0.8
out:
  FROM busybox
  ARG A=default
  RUN echo "$A" >/a.txt
  SAVE ARTIFACT /a.txt AS LOCAL out/a.txt

fail:
  FROM busybox
  RUN exit 3
EOF2
}

# status_is WANT ARGS...: runs earth ARGS, expects exit status WANT.
status_is() {
  local want=$1
  shift
  local got=0
  "$earth" "$@" >"$T/log" 2>&1 || got=$?
  eq "$got" "$want" "exit status of earth $*"
}

# ---------------------------------------------------------------- exit status
test_exit_status() {
  setup
  project
  status_is 0 +out
  status_is 1 +fail
  log_has "exited with status 3"
  status_is 2 +nope
  status_is 2 --no-such-flag +out
  status_is 2 nope
  status_is 2 -j 0 +out
  status_is 2 +out --A # a build arg without a value
  status_is 2 ls --bad
  EARTH_PUSH=maybe status_is 2 +out
  log_has "EARTH_PUSH is true or false"
  printf 'VERSION 0.8\nout:\n  FROM busybox\n  FROBNICATE x\n' >Earthfile
  status_is 2 +out # parse error
  log_has "Earthfile:4"
  printf 'VERSION 0.8\nout:\n  FROM +missing\n' >Earthfile
  status_is 2 +out # resolve error
  status_is 2 ls ./nowhere
  status_is 0 --version
  printf 'VERSION 0.8\nout:\n  FROM busybox\n' >Earthfile
  status_is 0 --buildkit-host tcp://x -D --installation-name=e ls # Earthly's global flags
  log_has "+out"
  status_is 0 --ssh-auth-sock /s --exec-stats --dry-run +out
}

test_interrupted() {
  setup
  printf 'VERSION 0.8\nlong:\n  FROM busybox\n  RUN sleep 60\n' >Earthfile
  "$earth" +long >"$T/log" 2>&1 &
  local pid=$! i
  for ((i = 0; i < 100; i++)); do
    grep -qF -- "--> RUN sleep 60" "$T/log" && break
    sleep 0.1
  done
  log_has "--> RUN sleep 60"
  sleep 0.3
  kill -INT "$pid"
  local got=0
  wait "$pid" || got=$?
  eq "$got" 130 "exit status after SIGINT"
}

# -------------------------------------------------------- help and suggestions
test_help_and_suggestions() {
  setup
  project
  status_is 0 --help
  log_has "examples:" "earth +build" "exit status: 0 success, 1 build failed, 2 usage" \
    "--no-cache" "[\$EARTH_NO_CACHE]"
  status_is 0 ls --help
  log_has "usage: earth ls" "examples:"
  status_is 0 help config
  log_has "earth config global.jobs 4"
  status_is 0 --version
  log_has "earth version"
  status_is 2 +otu
  log_has "did you mean +out?"
  status_is 2 otu
  log_has "did you mean +out?"
  status_is 2 lss
  log_has "did you mean ls?"
  status_is 2 --no-cahce +out
  log_has "unknown flag --no-cahce; did you mean --no-cache?"
  status_is 2 imgae ls
  log_has "did you mean image?"
  status_is 2 ls --lnog
  log_has "earth ls: unknown flag --lnog; did you mean --long?"
  status_is 2 config --dryrun global.jobs 2
  log_has "did you mean --dry-run?"
}

# ------------------------------------------------- flags, environment, .env
# Build flags before a command, as Earthly takes them: the command reads
# them (debug keys builds) or names the one it does not take.
test_flags_before_command() {
  setup
  project
  earth_ok --secret tok=v debug keys +out --A=x
  log_has "+out"
  earth_ok -P --no-cache debug keys +out
  earth_fails --no-cache ls
  eq "$status" 2 "exit status"
  log_has "earth ls: unknown flag --no-cache"
  earth_fails --bogus ls
  log_has "unknown flag --bogus"
}

test_env_equivalents() {
  setup
  project
  EARTH_NO_OUTPUT=1 earth_ok +out
  no_file out/a.txt
  EARTHLY_NO_OUTPUT=true earth_ok +out
  no_file out/a.txt
  EARTH_NO_OUTPUT=1 earth_ok --no-output=false +out # the flag beats the environment
  file_is out/a.txt default
  rm -rf out
  EARTH_NO_OUTPUT=0 EARTHLY_NO_OUTPUT=1 earth_ok +out # EARTH_ beats EARTHLY_
  file_is out/a.txt default
  rm -rf out
  EARTH_CI=1 earth_ok +out
  no_file out/a.txt
  EARTH_CI=1 EARTH_OUTPUT=1 earth_ok +out
  file_is out/a.txt default
}

test_dotenv() {
  setup
  project
  printf '# settings\nEARTH_NO_OUTPUT=true\n' >.env
  earth_ok +out
  no_file out/a.txt
  EARTH_NO_OUTPUT=false earth_ok +out # the environment beats .env
  file_is out/a.txt default
  rm -rf out .env
  printf 'EARTH_NO_OUTPUT=1\n' >other.env
  earth_ok --env-file-path other.env +out
  no_file out/a.txt
  EARTH_ENV_FILE_PATH=other.env earth_ok +out
  no_file out/a.txt
  printf 'A=from-dotenv\n' >.env # not a setting: a warning, not a build arg
  earth_ok +out
  log_has "A is not an earth setting"
  file_is out/a.txt default
  printf 'oops\n' >.env
  status_is 2 +out
  log_has ".env:1: expected KEY=value"
}

test_arg_file() {
  setup
  project
  printf '# args\nA=from-arg-file\n' >.arg
  earth_ok +out
  file_is out/a.txt from-arg-file
  earth_ok +out --A=from-cli # the command line beats .arg
  file_is out/a.txt from-cli
  printf 'A=other\n' >other.arg
  earth_ok --arg-file-path other.arg +out
  file_is out/a.txt other
  EARTH_ARG_FILE_PATH=other.arg earth_ok +out
  file_is out/a.txt other
}

# ---------------------------------------------------------------- config
test_config_file() {
  setup
  project
  local store=$EARTH_CACHE_DIR
  unset EARTH_CACHE_DIR
  export HOME=$T/home
  mkdir -p "$HOME/.earth"
  printf '# my settings\nglobal:\n  cache_dir: %s\n  jobs: 2 # two at once\n' "$store" \
    >"$HOME/.earth/config.yml"
  earth_ok +out # busybox is found in the cache dir the config names
  file_is out/a.txt default
  earth_ok image ls
  log_has "busybox:latest"
  # --config and EARTH_CONFIG name another file
  printf 'global:\n  cache_dir: %s\n' "$T/other-cache" >"$T/other.yml"
  earth_ok --config "$T/other.yml" image ls
  log_lacks "busybox:latest"
  EARTH_CONFIG=$T/other.yml earth_ok image ls
  log_lacks "busybox:latest"
  # ~/.earthly/config.yml when ~/.earth/config.yml is missing
  mv "$HOME/.earth" "$HOME/.earthly"
  earth_ok image ls
  log_has "busybox:latest"
}

test_config_errors() {
  setup
  project
  export HOME=$T/home
  mkdir -p "$HOME/.earth"
  printf 'global:\n  jobs: 2\n  cache_dri: /x\n' >"$HOME/.earth/config.yml"
  status_is 2 +out
  log_has "$HOME/.earth/config.yml:3:3: error: unknown key 'cache_dri' in global" \
    "did you mean cache_dir?" "allowed: cache_dir"
  printf 'global:\n  jobs: lots\n' >"$HOME/.earth/config.yml"
  status_is 2 image ls
  log_has "config.yml:2:9: error: global.jobs: expected an integer from 1 to 1024, not 'lots'"
  printf 'registries:\n  r.io:\n    insecure: maybe\n' >"$HOME/.earth/config.yml"
  status_is 2 +out
  log_has "config.yml:3:15: error: registries.r.io.insecure: expected true or false"
}

test_config_command() {
  setup
  export HOME=$T/home
  local cfg=$HOME/.earth/config.yml
  earth_ok config global.jobs 3 # creates the file
  file_is "$cfg" $'global:\n  jobs: 3'
  printf '# mine\nglobal:\n  jobs: 3 # keep\n# end\n' >"$cfg"
  earth_ok config global.jobs 8
  earth_ok config registries.docker.io.mirrors '[mirror.gcr.io]'
  file_is "$cfg" $'# mine\nglobal:\n  jobs: 8 # keep\n# end\nregistries:\n  docker.io:\n    mirrors: [mirror.gcr.io]'
  earth_ok config --dry-run global.cache_dir /c
  log_has "  cache_dir: /c"
  grep -q cache_dir "$cfg" && fail "--dry-run wrote the file"
  status_is 2 config global.jbos 3
  log_has "unknown key 'jbos' in global (allowed: cache_dir"
  status_is 2 config global.jobs lots
  log_has "global.jobs: expected an integer from 1 to 1024, not 'lots'"
  grep -q "jobs: 8" "$cfg" || fail "a rejected edit changed the file"
  earth_ok --config "$T/x.yml" config global.secret_provider "pass show"
  file_is "$T/x.yml" $'global:\n  secret_provider: pass show'
}

# ---------------------------------------------------------------- completion
# complete WORDS...: what the bash completion function offers for the last
# word (RAW=1: with the space it appends, if any).
complete_words() {
  PATH=$(dirname "$earth"):$PATH bash -c '
    source <(earth --completion bash)
    COMP_WORDS=(earth "$@"); COMP_CWORD=$#
    _earth
    ((${#COMPREPLY[@]} == 0)) || [[ -n ${RAW:-} ]] || printf "%s\n" "${COMPREPLY[@]% }"
    ((${#COMPREPLY[@]} == 0)) || [[ -z ${RAW:-} ]] || printf "%s\n" "${COMPREPLY[@]}"' bash "$@"
}

test_completion() {
  setup
  project
  mkdir sub
  printf 'VERSION 0.8\nlib:\n  FROM busybox\n' >sub/Earthfile
  eq "$(complete_words +o | tr '\n' ' ')" "+out " "targets after +"
  eq "$(complete_words +f | tr '\n' ' ')" "+fail " "targets after +"
  eq "$(complete_words ./sub+ | tr '\n' ' ')" "./sub+base ./sub+lib " "targets of ./sub"
  eq "$(complete_words --no-c | tr '\n' ' ')" "--no-cache " "build flags"
  eq "$(complete_words ls -- | tr '\n' ' ')" "--args --long " "a command's flags"
  eq "$(complete_words im | tr '\n' ' ')" "image " "commands"
  eq "$(complete_words image p | tr '\n' ' ')" "pull push " "subcommands"
  eq "$(complete_words config global.j | tr '\n' ' ')" "global.jobs " "config keys"
  eq "$(complete_words --completion "" | tr '\n' ' ')" "bash zsh " "shells"
  eq "$(complete_words --progress "" | tr '\n' ' ')" "auto tty plain json " "--progress values"
  eq "$(complete_words -j "" | tr '\n' ' ')" "" "a valued flag's value (no commands)"
  eq "$(complete_words -a +o | tr '\n' ' ')" "+out/ " "the target of -a, then its path"
  eq "$(RAW=1 complete_words -a +o)" "+out/" "no space after -a's +t/"
  eq "$(RAW=1 complete_words +o)" "+out " "a space after a target"
  eq "$(complete_words --image "" | tr '\n' ' ')" "+base +out +fail " "the target of --image"
  eq "$(complete_words +out -- | tr '\n' ' ')" "--A= " "the target's build args"
  eq "$(complete_words -j 2 ./sub+lib --x | tr '\n' ' ')" "" "no such build arg"
}

# zsh_complete HOW LINE...: types each LINE and a TAB into an interactive zsh
# on a pty (zsh/zpty) that loaded `earth --completion zsh` HOW (`source`: as
# `source <(…)` after compinit; `fpath`: saved as _earth in a directory of
# $fpath before compinit), and prints for each "MATCHES => [LINE AFTER
# COMPLETION]". compadd is wrapped to note the matches each call adds (after
# zsh's own matching); ^T writes the edited line and clears it for the next.
zsh_complete() {
  local how=$1
  shift
  mkdir -p "$T/zfunc"
  "$earth" --completion zsh >"$T/zfunc/_earth"
  cat >"$T/complete.zsh" <<'EOF2'
zmodload zsh/zpty || exit 3
out=$1 how=$2 zfunc=$3
shift 3
: >$out
zpty z zsh -f -i
zpty -w z "PS1=''; OUT=${(q)out}"
if [[ $how == fpath ]]; then
  zpty -w z "fpath=(${(q)zfunc} \$fpath); autoload -Uz compinit; compinit -u -D"
else
  zpty -w z 'autoload -Uz compinit; compinit -u -D; source <(earth --completion zsh)'
fi
zpty -w z 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a m; builtin compadd -O m "$@"
  (($#m)) && print -rl -- "${(@)m/#/match:}" >>$OUT
  builtin compadd "$@"
}'
zpty -w z '_line() { print -r -- "line:$BUFFER" >>$OUT; BUFFER=; }; zle -N _line'
zpty -w z 'bindkey "^T" _line; bindkey "^I" complete-word'
for line; do zpty -w -n z "$line"$'\t\C-t'; done
for i in {1..1200}; do (($(grep -c '^line:' $out) >= $#)) && break; sleep 0.05; done
zpty -d z
EOF2
  HOME=$T PATH=$(dirname "$earth"):$PATH zsh -f "$T/complete.zsh" "$T/zsh.out" "$how" "$T/zfunc" "$@" ||
    fail "zsh exited with $?"
  awk '/^match:/ { m = m (m == "" ? "" : " ") substr($0, 7); next }
       /^line:/ { print m " => [" substr($0, 6) "]"; m = "" }' "$T/zsh.out"
}

test_completion_zsh() {
  command -v zsh >/dev/null || skip "no zsh (scripts/deps.sh --test installs it)"
  setup
  project
  mkdir sub
  printf 'VERSION 0.8\nlib:\n  FROM busybox\n' >sub/Earthfile
  touch zfile.txt
  local lines=("earth +o" "earth +" "earth ./sub+" "earth --no-c" "earth ls --" "earth im"
    "earth image p" "earth config global.j" "earth --completion " "earth +out --"
    "earth +out zf" "earth --progress " "earth --config zf" "earth -a +o")
  local want=(
    "+out => [earth +out ]"
    "+base +out +fail => [earth +]"
    "./sub+base ./sub+lib => [earth ./sub+]"
    "--no-cache => [earth --no-cache ]"
    "--args --long => [earth ls --]"
    "image => [earth image ]"
    "pull push => [earth image pu]"
    "global.jobs => [earth config global.jobs ]"
    "bash zsh => [earth --completion ]"
    "--A= => [earth +out --A=]" # a build arg: no space after the '='
    "zfile.txt => [earth +out zfile.txt ]" # no candidates: files
    "auto tty plain json => [earth --progress ]"
    "zfile.txt => [earth --config zfile.txt ]"
    "+out/ => [earth -a +out/]" # the artifact's path follows: no space
  )
  local how
  for how in source fpath; do
    eq "$(zsh_complete $how "${lines[@]}")" "$(printf '%s\n' "${want[@]}")" \
      "what zsh completes (script loaded by $how)"
  done
}

if [[ ${1:-} == --list ]]; then
  declare -F | awk '{print $3}' | sed -n 's/^test_//p'
  exit 0
fi
for c in "$@"; do
  declare -F "test_$c" >/dev/null || { echo "cli_test.sh: no case $c" >&2; exit 2; }
  ("test_$c") || exit $?
  echo "PASS $c"
done
