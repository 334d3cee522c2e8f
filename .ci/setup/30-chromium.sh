# Headless Chromium and its WebDriver, for the review console's end-to-end
# test (tests/console.rs), from Debian. The test starts chromedriver itself
# on 127.0.0.1 with a fresh profile, and drives the real `rempart serve`.
apt_install chromium chromium-driver
export REMPART_CHROMEDRIVER="${REMPART_CHROMEDRIVER:-$(command -v chromedriver)}"
export REMPART_CHROMIUM="${REMPART_CHROMIUM:-$(command -v chromium)}"
echo "   $("$REMPART_CHROMIUM" --version 2>/dev/null | head -n 1); chromedriver at $REMPART_CHROMEDRIVER"
