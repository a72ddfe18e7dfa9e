<?php
/**
 * The same WordPress, served by a PHP that does not have the extension: webhooks get 503 JSON
 * and administrators see the install steps. (PHP's built-in server stands in for php-fpm here,
 * because php-fpm has the extension loaded for every other test.)
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class WithoutExtensionTest extends E2ETestCase
{
    /** @var resource|null */
    private static $server = null;
    private static string $url = '';

    public static function setUpBeforeClass(): void
    {
        parent::setUpBeforeClass();
        $port = 18000 + random_int(0, 999);
        self::$url = "http://127.0.0.1:$port";
        // Debian's ini scan dir brings mysqli; crmhook is loaded only by our harness's ini, not here.
        $cmd = [PHP_BINARY, '-S', "127.0.0.1:$port", '-t', self::$runDir . '/wordpress'];
        self::$server = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
        for ($i = 0; $i < 50 && @file_get_contents(self::$url . '/wp-login.php') === false; $i++) {
            usleep(100000);
        }
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$server) {
            proc_terminate(self::$server);
            proc_close(self::$server);
        }
    }

    public function testTheServerReallyLacksTheExtension(): void
    {
        exec(escapeshellarg(PHP_BINARY) . ' -r ' . escapeshellarg('echo extension_loaded("crmhook") ? "yes" : "no";'), $out);
        $this->assertSame('no', $out[0] ?? '', 'plain php must not load crmhook for this test to mean anything');
    }

    public function testWebhooksGet503Json(): void
    {
        $this->configure('keap');
        $context = stream_context_create(['http' => ['ignore_errors' => true, 'timeout' => 30]]);
        $body = file_get_contents(self::$url . '/?wpf_action=add&contact_id=1001&access_key=' . self::$key, false, $context);
        $this->assertStringContainsString('503', $http_response_header[0]);
        $json = json_decode((string) $body, true);
        $this->assertFalse($json['ok']);
        $this->assertStringContainsString('extension is not loaded', $json['message']);
        $this->assertSame(1, $this->userCount());
    }

    public function testAdminsSeeTheInstallSteps(): void
    {
        // Logged in on the server without the extension: the same WordPress, so the same admin.
        $page = $this->adminGet($this->adminLogin(self::$url), self::$url . '/wp-admin/plugins.php')['body'];
        $this->assertStringContainsString('the crmhook PHP extension is not loaded', $page);
        $this->assertStringContainsString('extension=/path/to/libcrmhook.so', $page);
    }
}
