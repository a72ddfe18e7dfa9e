#!/usr/bin/env bash
# Writes the PHP stubs of the extension to stdout: the functions as `cargo php stubs` reads
# them from the debug build (which carries the description it needs), then the exception
# classes, which are registered in MINIT and so are not in that description.
set -euo pipefail
so="$1"
cargo_php="${CARGO_HOME:-$HOME/.cargo}/bin/cargo-php"

"$cargo_php" stubs --stdout "$so"
cat <<'PHP'

namespace CrmHook {
    /**
     * A webhook request was refused. The code is the HTTP status to answer with
     * (400 malformed, 403 bad access key, 413 body too large, 422 no contact id or an
     * unusable contact, 500 an internal error); the message is written for the site owner
     * and never contains a secret.
     */
    class WebhookException extends \RuntimeException {}

    /**
     * A call to the CRM's API failed. The code is HTTP-like (401 bad credentials, 404 contact
     * not found, 429 rate limited, 502 a bad answer, 504 timeout); the message names the CRM
     * and the step that failed, and never contains a credential.
     */
    class CrmException extends \RuntimeException {}
}
PHP
