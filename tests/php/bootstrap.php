<?php
/**
 * Bootstrap of the extension suite. It refuses to run without the crmhook extension: every
 * test here is about the binding, and a suite that skipped them all would prove nothing.
 */

declare(strict_types=1);

if (!extension_loaded('crmhook')) {
    fwrite(STDERR, implode("\n", [
        'crmhook extension suite: the crmhook extension is NOT loaded in this PHP (' . PHP_BINARY . ').',
        'Build it and load it on the command line:',
        '  cargo build --release',
        '  php -d extension=' . dirname(__DIR__, 2) . '/target/release/libcrmhook.so /usr/bin/phpunit --configuration tests/php/phpunit.xml',
        '',
    ]));
    exit(1);
}

/**
 * The .so under test, for the tests that start a second PHP (`php --ri`, `php --re`).
 * CRMHOOK_SO overrides it; by default it is the release build of this checkout.
 */
define('CRMHOOK_TEST_SO', getenv('CRMHOOK_SO') ?: dirname(__DIR__, 2) . '/target/release/libcrmhook.so');

/** The repository root, for Cargo.toml and php-stubs/. */
define('CRMHOOK_TEST_ROOT', dirname(__DIR__, 2));

/** tests/fixtures/webhooks: one realistic CRM request per file. */
define('CRMHOOK_TEST_FIXTURES', dirname(__DIR__) . '/fixtures/webhooks');

require __DIR__ . '/extension/ExtensionTestCase.php';
