# Functions of the session .ci/readme generates from README.md; see there.
# shellcheck shell=bash

readme_bg_pids=() readme_bg_cmds=() readme_bg_logs=() readme_bg_blocks=() readme_bg_lines=() readme_bg_stopped=()

readme_fail() {
  echo "readme: FAIL: $*" >&2
  exit 1
}

# readme_listening HOST PORT: whether something accepts connections there.
readme_listening() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# readme_hostport TARGET: "host port" of a wait target (URL or tcp://).
readme_hostport() {
  local hp=${1#*://}
  hp=${hp%%/*}
  local host=${hp%:*} port=${hp##*:}
  [[ "$host" == localhost ]] && host=127.0.0.1
  if [[ "$hp" != *:* ]]; then
    port=80
    [[ "$1" == https://* ]] && port=443
  fi
  echo "$host $port"
}

readme_block() {
  echo "--- README.md:$1 (block $2)"
  : >"$README_LOGS/block-$2.out"
}

readme_skipped() {
  echo "--- README.md:$1 skipped: $2"
}

# readme_run LINE CMD BLOCK runs one command line in this shell, so that the
# variables it sets last, and fails the run if it fails.
readme_run() {
  local line=$1 cmd=$2 block=$3 out="$README_LOGS/cmd.out" rc=0
  echo "\$ $cmd"
  { eval "$cmd"; } >"$out" 2>&1 </dev/null || rc=$?
  cat "$out"
  [[ -s "$out" && -n "$(tail -c 1 "$out")" ]] && echo # curl's answers end without one
  cat "$out" >>"$README_LOGS/block-$block.out"
  ((rc == 0)) || readme_fail "README.md:$line: \`$cmd\` exited $rc"
}

# readme_background LINE CMD BLOCK starts one command line as a process
# group of its own (its own terminal), its output in a log.
readme_background() {
  local line=$1 cmd=$2 block=$3 i=${#readme_bg_pids[@]}
  local log="$README_LOGS/background-$i.log"
  echo "\$ $cmd &   # log: $log"
  setsid bash -c "$cmd" >"$log" 2>&1 </dev/null &
  readme_bg_pids+=($!) readme_bg_cmds+=("$cmd") readme_bg_logs+=("$log")
  readme_bg_blocks+=("$block") readme_bg_lines+=("$line") readme_bg_stopped+=(0)
}

readme_dump() { # the log of background process $1
  echo "--- output of \`${readme_bg_cmds[$1]}\` (README.md:${readme_bg_lines[$1]}):" >&2
  tail -n 40 "${readme_bg_logs[$1]}" >&2
}

# readme_check_alive BLOCK fails the run when a background process of BLOCK
# (every block when empty) has exited.
readme_check_alive() {
  local i
  for i in "${!readme_bg_pids[@]}"; do
    [[ -n "$1" && "${readme_bg_blocks[$i]}" != "$1" ]] && continue
    ((readme_bg_stopped[i])) && continue
    if ! kill -0 "${readme_bg_pids[$i]}" 2>/dev/null; then
      wait "${readme_bg_pids[$i]}" 2>/dev/null
      local rc=$?
      readme_dump "$i"
      readme_bg_stopped[i]=1
      readme_fail "README.md:${readme_bg_lines[$i]}: \`${readme_bg_cmds[$i]}\` exited $rc; it should keep running"
    fi
  done
}

readme_port_free() {
  local hp
  read -r -a hp <<<"$(readme_hostport "$2")"
  if readme_listening "${hp[0]}" "${hp[1]}"; then
    readme_fail "README.md:$1: port ${hp[1]} is taken by another process before the block starts: stop it and run again"
  fi
}

# readme_wait BLOCK TARGET TIMEOUT waits until TARGET (an http URL, or
# tcp://host:port) answers, while the block's processes keep running.
readme_wait() {
  local block=$1 target=$2 deadline=$((SECONDS + $3)) hp
  read -r -a hp <<<"$(readme_hostport "$target")"
  while :; do
    readme_check_alive "$block"
    if [[ "$target" == tcp://* ]]; then
      readme_listening "${hp[0]}" "${hp[1]}" && break
    elif curl -s -o /dev/null --max-time 2 "$target"; then
      break
    fi
    if ((SECONDS >= deadline)); then
      local i
      for i in "${!readme_bg_pids[@]}"; do
        [[ "${readme_bg_blocks[$i]}" == "$block" ]] && readme_dump "$i"
      done
      readme_fail "block $block: $target did not answer within $3 s"
    fi
    sleep 0.2
  done
  echo "(ready: $target)"
}

readme_expect() {
  if ! grep -qF -- "$2" "$README_LOGS/block-$1.out"; then
    readme_fail "block $1: its output lacks the text the README shows: $2"
  fi
}

readme_stop_one() { # Ctrl-C to the process group, then SIGKILL after 20 s
  local pid=${readme_bg_pids[$1]} j
  ((readme_bg_stopped[$1])) && return 0
  readme_bg_stopped[$1]=1
  kill -INT -- "-$pid" 2>/dev/null || return 0
  for ((j = 0; j < 100; j++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

readme_stop() {
  local i
  for i in "${!readme_bg_pids[@]}"; do
    if [[ "${readme_bg_cmds[$i]}" == *"$1"* ]] && ((!readme_bg_stopped[i])); then
      echo "(stopping \`${readme_bg_cmds[$i]}\`)"
      readme_check_alive "${readme_bg_blocks[$i]}"
      readme_stop_one "$i"
    fi
  done
}

readme_stop_all() {
  local i
  for i in "${!readme_bg_pids[@]}"; do
    readme_stop_one "$i"
  done
}
trap readme_stop_all EXIT

readme_finish() {
  readme_check_alive ""
  readme_stop_all
  echo "readme: every command of README.md ran and passed"
}
