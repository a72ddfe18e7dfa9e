<?php
/**
 * The end-to-end suite runs in a PHP with the extension loaded (its tests use crmhook_fetch_contact
 * to know what the CRM holds), against the site and emulator the Makefile started.
 */

declare(strict_types=1);

if (!extension_loaded('crmhook')) {
    fwrite(STDERR, "e2e: load the extension: php -d extension=target/release/libcrmhook.so /usr/bin/phpunit …\n");
    exit(1);
}
require __DIR__ . '/E2ETestCase.php';
