# Sourced by the project's scripts: points JAVA_HOME at a JDK 21 or newer.
# The machine's default java may be 17; a newer JDK (Temurin) is installed beside it.
qp_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -1; }
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(qp_java_major "$JAVA_HOME")" -lt 21 ] 2>/dev/null; then
  JAVA_HOME=""
  for candidate in /usr/lib/jvm/temurin-*-jdk-* /usr/lib/jvm/java-2[1-9]-* /usr/lib/jvm/jdk-2[1-9]* /opt/java/openjdk; do
    if [ -x "$candidate/bin/javac" ] && [ "$(qp_java_major "$candidate")" -ge 21 ] 2>/dev/null; then
      JAVA_HOME="$candidate"
      break
    fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "QueuePilot needs a JDK 21 or newer; none found under /usr/lib/jvm. Set JAVA_HOME." >&2
    return 1 2>/dev/null || exit 1
  fi
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
