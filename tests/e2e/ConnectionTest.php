<?php
/**
 * Test connection through the real admin-ajax.php (nginx + php-fpm, a logged-in browser's
 * cookies): the statuses a page gets, and that the typed values are tested and never saved.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class ConnectionTest extends E2ETestCase
{
    /** @var list<string> Cookie jars to delete. */
    private array $jars = [];

    protected function tearDown(): void
    {
        foreach ($this->jars as $jar) {
            @unlink($jar);
        }
    }

    /** Logs in through wp-login.php; answers the cookie jar. */
    private function login(string $user, string $password): string
    {
        $jar = (string) tempnam(sys_get_temp_dir(), 'crmhook-jar');
        $this->jars[] = $jar;
        $this->post($jar, '/wp-login.php', ['log' => $user, 'pwd' => $password, 'testcookie' => '1'], ['Cookie: wordpress_test_cookie=WP%20Cookie%20check']);
        return $jar;
    }

    /**
     * @param array<string, string> $fields
     * @param list<string>          $headers
     * @return array{status: int, body: string, json: mixed}
     */
    private function post(string $jar, string $path, array $fields, array $headers = []): array
    {
        $curl = curl_init(self::$site . $path);
        curl_setopt_array($curl, [
            CURLOPT_RETURNTRANSFER => true, CURLOPT_POST => true, CURLOPT_POSTFIELDS => http_build_query($fields),
            CURLOPT_COOKIEJAR => $jar, CURLOPT_COOKIEFILE => $jar, CURLOPT_HTTPHEADER => $headers, CURLOPT_TIMEOUT => 30,
        ]);
        $body = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return ['status' => $status, 'body' => $body, 'json' => json_decode($body, true)];
    }

    /** The nonce the settings page gives its script. */
    private function nonce(string $jar): string
    {
        $curl = curl_init(self::$site . '/wp-admin/options-general.php?page=crmhook');
        curl_setopt_array($curl, [CURLOPT_RETURNTRANSFER => true, CURLOPT_COOKIEFILE => $jar, CURLOPT_TIMEOUT => 30]);
        $page = (string) curl_exec($curl);
        curl_close($curl);
        $pattern = '/crmhookAdmin = \{[^}]*"nonce":"([0-9a-f]+)"/';
        $this->assertMatchesRegularExpression($pattern, $page, 'the settings page (logged in)');
        preg_match($pattern, $page, $m);
        return $m[1];
    }

    /**
     * @param array<string, string> $form
     * @return array{status: int, body: string, json: mixed}
     */
    private function test(string $jar, string $nonce, array $form): array
    {
        return $this->post($jar, '/wp-admin/admin-ajax.php', ['action' => 'crmhook_test_connection', '_ajax_nonce' => $nonce] + $form);
    }

    public function testTheTypedValuesAreTestedWithTheRightStatuses(): void
    {
        $this->configure('activecampaign');
        $before = $this->option('crmhook_settings');
        $admin = $this->login('admin', trim((string) file_get_contents(self::$runDir . '/admin-password')));
        $nonce = $this->nonce($admin);
        $keap = ['crm' => 'keap', 'api_url' => self::$emulator . '/keap', 'api_key' => self::$credentials['keap']['api_key']];

        $ok = $this->test($admin, $nonce, $keap);
        $this->assertSame(200, $ok['status'], $ok['body']);
        $this->assertTrue($ok['json']['success']);
        $this->assertMatchesRegularExpression('/^Connected to .*Keap: \d+ tags? found/', $ok['json']['data']['message']);
        $this->assertStringNotContainsString(self::$credentials['keap']['api_key'], $ok['body']);
        $this->assertSame($before, $this->option('crmhook_settings'), 'nothing was saved');

        $missing = $this->test($admin, $nonce, ['api_key' => ''] + $keap);
        $this->assertSame(400, $missing['status'], $missing['body']);
        $this->assertStringContainsString('Keap needs its API key', $missing['json']['data']['message']);
        $this->assertStringNotContainsString(self::$credentials['activecampaign']['api_key'], $missing['body']);

        $badNonce = $this->test($admin, 'abc123', $keap);
        $this->assertSame(403, $badNonce['status']);
        $this->assertSame('-1', $badNonce['body']);

        $this->wp('wp_insert_user(["user_login" => "e2e-sub", "user_email" => "e2e-sub@example.com", "user_pass" => "sub-pass-123", "role" => "subscriber"]); return "";');
        $subscriber = $this->login('e2e-sub', 'sub-pass-123');
        $refused = $this->test($subscriber, $nonce, $keap);
        $this->assertSame(403, $refused['status'], $refused['body']);
        $this->assertSame('You are not allowed to do that.', $refused['json']['data']['message']);

        $keapCalls = $this->crmCalls('keap');
        $this->assertCount(count(array_filter($keapCalls, static fn ($c) => $c['authorized'])), $keapCalls, 'every Keap call carried the typed key');
        $this->assertSame([], $this->crmCalls('activecampaign'), 'the saved CRM was never called');
    }
}
