<?php
/**
 * Copied to the site root by up.sh and served as /probe.php: tells what the php-fpm worker that
 * answered has loaded, without booting WordPress. up.sh and the tests read it to prove the site runs
 * with the extension and opcache.
 */

declare(strict_types=1);

$opcache = function_exists('opcache_get_status') ? opcache_get_status(false) : false;

header('Content-Type: application/json');
header('Cache-Control: no-store');
echo json_encode([
    'extension_loaded' => extension_loaded('crmhook'),
    'extension_version' => phpversion('crmhook') ?: null,
    'opcache_enabled' => is_array($opcache) && !empty($opcache['opcache_enabled']),
    'opcache_validate_timestamps' => (bool) ini_get('opcache.validate_timestamps'),
    'php_sapi' => PHP_SAPI,
    'php_version' => PHP_VERSION,
    'pid' => getmypid(),
    // The fast lane's switch in this php-fpm (bench/lane.sh checks each round runs what it says).
    'crmhook_lane' => (bool) ini_get('crmhook.lane'),
]), "\n";
