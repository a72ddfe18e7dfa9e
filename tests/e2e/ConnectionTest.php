<?php
/**
 * Test connection through the real admin-ajax.php (nginx + php-fpm, a logged-in browser's
 * cookies): the statuses a page gets, and that the typed values are tested and never saved.
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

final class ConnectionTest extends E2ETestCase
{
    /** The nonce the settings page gives its script. */
    private function nonce(string $jar): string
    {
        $page = $this->adminGet($jar, '/wp-admin/options-general.php?page=crmhook')['body'];
        $pattern = '/crmhookAdmin = \{[^}]*"nonce":"([0-9a-f]+)"/';
        $this->assertMatchesRegularExpression($pattern, $page, 'the settings page (logged in)');
        preg_match($pattern, $page, $m);
        return $m[1];
    }

    /**
     * @param array<string, string> $form
     * @return array{status: int, body: string, json: ?array, headers: array<string, string>, location: string}
     */
    private function test(string $jar, string $nonce, array $form): array
    {
        return $this->adminPost($jar, '/wp-admin/admin-ajax.php', ['action' => 'crmhook_test_connection', '_ajax_nonce' => $nonce] + $form);
    }

    public function testTheTypedValuesAreTestedWithTheRightStatuses(): void
    {
        $this->configure('activecampaign');
        $before = $this->option('crmhook_settings');
        $admin = $this->adminLogin();
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
