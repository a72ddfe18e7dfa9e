#!/usr/bin/env bash
# Gives the demo site a fresh WordPress: drops and recreates the database `wordpress`, installs
# WordPress again (same admin password), re-activates the plugin, empties uploads and $RUN_DIR/mail.
# Starts whatever is not running, like up.sh (it is `up.sh --reset`). The test database is not touched:
# phpunit-bootstrap.php resets that one itself.
exec "$(dirname "${BASH_SOURCE[0]}")/up.sh" --reset
