<?php
/**
 * The fast lane's hook in a real request cycle: PHP's built-in web server runs each request with
 * its own request start and end (RINIT/RSHUTDOWN), as php-fpm does. The entry is the plugin's own
 * lane.php with no configuration file, so the lane lets every request through to the "site"
 * (tests/fixtures/lane/docroot/index.php), which reports what it saw.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

final class LaneHookTest extends ExtensionTestCase
{
    /** @var resource|null */
    private static $server = null;
    private static string $url = '';

    public static function setUpBeforeClass(): void
    {
        $fixtures = dirname(__DIR__, 2) . '/fixtures/lane';
        for ($try = 0; $try < 5 && self::$server === null; $try++) {
            $port = 20000 + random_int(0, 20000);
            $command = [
                PHP_BINARY, '-n', '-d', 'extension=' . CRMHOOK_TEST_SO,
                '-d', 'crmhook.lane=1',
                '-d', 'crmhook.lane_entry=' . CRMHOOK_TEST_ROOT . '/wordpress-plugin/crmhook/lane.php',
                // No such file: the lane lets every request through, and the memo has a site.
                '-d', 'crmhook.lane_config=' . $fixtures . '/no-such-config.json',
                '-d', 'auto_prepend_file=' . $fixtures . '/site-prepend.php',
                '-S', "127.0.0.1:$port", '-t', $fixtures . '/docroot',
            ];
            $process = proc_open($command, [0 => ['pipe', 'r'], 1 => ['file', '/dev/null', 'w'], 2 => ['file', '/dev/null', 'w']], $pipes);
            for ($i = 0; $i < 50 && is_resource($process); $i++) {
                if (@file_get_contents("http://127.0.0.1:$port/") !== false) {
                    self::$server = $process;
                    self::$url = "http://127.0.0.1:$port";
                    break;
                }
                usleep(100000);
            }
            if (self::$server === null && is_resource($process)) {
                proc_terminate($process);
                proc_close($process);
            }
        }
        self::assertNotNull(self::$server, 'php -S did not start');
    }

    public static function tearDownAfterClass(): void
    {
        if (self::$server !== null) {
            proc_terminate(self::$server);
            proc_close(self::$server);
            self::$server = null;
        }
    }

    /** @return array{headers: list<string>, json: array<string, mixed>} */
    private function fetch(string $query): array
    {
        $body = file_get_contents(self::$url . '/?' . $query);
        $this->assertIsString($body);
        $json = json_decode($body, true);
        $this->assertIsArray($json, $body);
        return ['headers' => $http_response_header, 'json' => $json];
    }

    public function testAWebhookRequestIsHandedToTheLaneEntryWhichRunsTheSitePrependFirst(): void
    {
        $seen = $this->fetch('wpf_action=update&access_key=k&contact_id=1');
        $this->assertTrue($seen['json']['lane']['this_request'], 'RINIT pointed auto_prepend_file at the lane entry');
        $this->assertTrue($seen['json']['lane_class_loaded'], 'the lane entry ran');
        $this->assertTrue($seen['json']['site_prepend_ran'], 'the site\'s own prepend ran, chained by the entry');
        $this->assertStringEndsWith('/site-prepend.php', (string) $seen['json']['lane']['prepend']);
        $this->assertContains('X-Site-Prepend: ran', $seen['headers']);
        $this->assertSame('index', $seen['json']['script'], 'no configuration: the lane let the request through');
    }

    public function testOtherRequestsKeepTheSitePrependAndNeverSeeTheLane(): void
    {
        foreach (['', 'p=12', 's=wpf_action', 'not_wpf_action=add', 'page=2&wpf_actions=1'] as $query) {
            $seen = $this->fetch($query);
            $this->assertFalse($seen['json']['lane']['this_request'], $query);
            $this->assertFalse($seen['json']['lane_class_loaded'], $query);
            $this->assertTrue($seen['json']['site_prepend_ran'], $query);
            $this->assertStringEndsWith('/site-prepend.php', (string) $seen['json']['auto_prepend_file'], $query);
        }
    }

    public function testTheSettingIsRestoredAfterEveryWebhookRequest(): void
    {
        // One server process, one request after another: a webhook, then a page, alternating.
        for ($i = 0; $i < 3; $i++) {
            $this->assertTrue($this->fetch('wpf_action=test&access_key=k')['json']['lane']['this_request']);
            $page = $this->fetch('p=' . $i);
            $this->assertFalse($page['json']['lane']['this_request']);
            $this->assertFalse($page['json']['lane_class_loaded'], 'the lane entry did not stick to the next request');
        }
    }

    public function testTheMemoOutlivesTheRequestThatKeptIt(): void
    {
        // The built-in server is one process, like a php-fpm worker: what one request keeps, the
        // next one finds.
        $this->assertTrue($this->fetch('memo=' . rawurlencode("first\0webhook"))['json']['remembered']);
        $this->assertSame(base64_encode("first\0webhook"), $this->fetch('p=1')['json']['memo']);
        $this->assertTrue($this->fetch('memo=')['json']['remembered'], 'an empty memo forgets');
        $this->assertNull($this->fetch('p=2')['json']['memo']);
    }

    public function testTheMemoNeedsTheLaneConfigurationAndHasABound(): void
    {
        $this->assertNull(crmhook_lane_memo(), 'no crmhook.lane_config here');
        $this->assertFalse(crmhook_lane_remember('x'));
        $this->assertNull(crmhook_lane_memo());

        $script = 'var_export([crmhook_lane_remember("a\0b"), bin2hex((string) crmhook_lane_memo()), crmhook_lane_remember(str_repeat("x", 64 * 1024 + 1)),'
            . ' bin2hex((string) crmhook_lane_memo()), crmhook_lane_remember(str_repeat("y", 64 * 1024)), strlen((string) crmhook_lane_memo()),'
            . ' crmhook_lane_remember(""), crmhook_lane_memo()]);';
        $out = shell_exec(escapeshellarg(PHP_BINARY) . ' -n -d extension=' . escapeshellarg(CRMHOOK_TEST_SO) . ' -d crmhook.lane_config=/tmp/site.json -r ' . escapeshellarg($script));
        $this->assertSame(var_export([true, '610062', false, '610062', true, 65536, true, null], true), $out, 'binary-safe, 64 KiB at most, an over-large memo keeps the old one');
    }

    public function testTheLaneSettingsAreOffByDefaultAndNotForScripts(): void
    {
        $this->assertSame('0', ini_get('crmhook.lane'));
        $this->assertSame('', ini_get('crmhook.lane_entry'));
        $this->assertSame('', ini_get('crmhook.lane_config'));
        $this->assertFalse(ini_set('crmhook.lane', '1'), 'a script cannot turn the lane on');
        $this->assertFalse(ini_set('crmhook.lane_entry', __FILE__), 'nor choose the file PHP runs first');
        $status = crmhook_lane_status();
        $this->assertSame(['enabled' => false, 'entry' => '', 'entry_found' => false, 'config' => '', 'this_request' => false, 'prepend' => null], $status);
    }
}
