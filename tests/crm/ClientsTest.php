<?php
/**
 * The extension's CRM clients against the emulator: every function for every CRM, pagination,
 * every fault, and credentials that never appear in a message.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Crm;

use CrmHook\Tests\E2E\E2ETestCase;

final class ClientsTest extends E2ETestCase
{
    private const CONTACTS = ['activecampaign', 'convertkit', 'kit', 'fluentcrm', 'funnelkit', 'keap'];

    protected function setUp(): void
    {
        $this->emulatorPost('/_emulator/reset');
        ini_set('crmhook.http_timeout', '10');
    }

    /** @return array<string, array{string}> */
    public static function crms(): array
    {
        return array_combine(self::CONTACTS, array_map(static fn ($c) => [$c], self::CONTACTS));
    }

    private function config(string $crm, array $override = []): array
    {
        return array_merge(['crm' => $crm, 'api_url' => self::$emulator . "/$crm"] + self::$credentials[$crm], $override);
    }

    /** A field of the seed's contacts: FluentCRM names its custom fields by slug, the others by id. */
    private static function field(string $crm, string $which): string
    {
        return $crm === 'fluentcrm' ? ['level' => 'membership_level', 'password' => 'wp_password'][$which] : ['level' => '12', 'password' => '14'][$which];
    }

    /** @dataProvider crms */
    public function testFetchContactIsNormalized(string $crm): void
    {
        $contact = crmhook_fetch_contact($this->config($crm), '1001');
        $this->assertSame('1001', $contact['id']);
        $this->assertSame("ann.$crm@example.com", $contact['email']);
        $this->assertSame('Ann', $contact['first_name']);
        $this->assertSame('Lee', $contact['last_name']);
        $this->assertSame('Gold', $contact['fields'][self::field($crm, 'level')]);
        // ActiveCampaign's tags are stored as names, the others' as ids.
        $this->assertSame($crm === 'activecampaign' ? ['Customer', 'VIP'] : ['1', '2'], $contact['tags']);
        $this->assertSame([], crmhook_fetch_contact($this->config($crm), '1002')['tags']);
    }

    /** @dataProvider crms */
    public function testFindContactByEmail(string $crm): void
    {
        $this->assertSame('1003', crmhook_find_contact($this->config($crm), "cy+news.$crm@example.com"));
        // 1006's address (leeann.…) contains 1001's: a substring search must not pick it.
        $this->assertSame('1001', crmhook_find_contact($this->config($crm), "ann.$crm@example.com"));
        $this->assertSame('1006', crmhook_find_contact($this->config($crm), "LeeAnn.$crm@example.com"));
        $this->assertNull(crmhook_find_contact($this->config($crm), 'nobody@example.com'));
    }

    /** @dataProvider crms */
    public function testUpdateContactWritesTheField(string $crm): void
    {
        crmhook_update_contact($this->config($crm), '1002', [self::field($crm, 'password') => 'Generated9Password']);
        $stored = $this->emulatorCall('GET', "/_emulator/contacts/$crm/1002");
        $this->assertSame('Generated9Password', $stored['fields'][self::field($crm, 'password')]);
    }

    /** @dataProvider crms */
    public function testUnknownContactIs404(string $crm): void
    {
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config($crm), '424242'));
        $this->assertSame(404, $code);
        $this->assertStringContainsString('424242', $message);
    }

    public function testActiveCampaignDeletedContactIsNotFound(): void
    {
        [$code] = $this->failing(fn () => crmhook_fetch_contact($this->config('activecampaign'), '1005'));
        $this->assertSame(404, $code);
    }

    /** @dataProvider crms */
    public function testWrongCredentialsAre401AndNeverEchoed(string $crm): void
    {
        $wrong = ['api_key' => 'wrong-key-1234', 'api_secret' => 'wrong-secret-1234', 'username' => 'fluent', 'password' => 'wrong password'];
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config($crm, $wrong), '1001'));
        $this->assertSame(401, $code);
        $names = ['activecampaign' => 'ActiveCampaign', 'convertkit' => 'ConvertKit', 'kit' => 'Kit', 'fluentcrm' => 'FluentCRM', 'funnelkit' => 'FunnelKit', 'keap' => 'Keap'];
        $this->assertStringStartsWith($names[$crm] . ': loading', $message);
        foreach (array_merge(array_values($wrong), array_values(self::$credentials[$crm])) as $secret) {
            if (strlen($secret) > 6) {
                $this->assertStringNotContainsString($secret, $message);
            }
        }
    }

    public function testActiveCampaignTagListFollowsOffsetPagesPast100(): void
    {
        $tags = crmhook_list_tags($this->config('activecampaign'));
        $this->assertCount(125, $tags);
        $this->assertSame('Customer', $tags[1]);
        $this->assertSame('Tag 125', $tags[125]);
        $pages = array_filter($this->crmCalls('activecampaign'), static fn ($c) => $c['path'] === '/api/3/tags');
        $this->assertCount(2, $pages, 'offset 0 and offset 100');
    }

    public function testKitTagListFollowsCursorPages(): void
    {
        $tags = crmhook_list_tags($this->config('kit'));
        $this->assertCount(65, $tags);
        $pages = array_values(array_filter($this->crmCalls('kit'), static fn ($c) => $c['path'] === '/v4/tags'));
        $this->assertCount(3, $pages, 'the emulator serves 25 a page');
        $this->assertArrayHasKey('after', $pages[1]['query']);
    }

    /** @dataProvider crms */
    public function testListTagsNamesEveryTag(string $crm): void
    {
        $tags = crmhook_list_tags($this->config($crm));
        $this->assertSame('Customer', $tags[1]);
        $this->assertSame('VIP', $tags[2]);
    }

    public function testConvertKitAndKitRulesAreRegisteredAndDeleted(): void
    {
        foreach (['convertkit', 'kit'] as $crm) {
            $target = 'https://shop.example.com/?wpf_action=update&access_key=K';
            $rule = crmhook_register_webhook($this->config($crm), 'subscriber.tag_add', '4', $target);
            $rules = $this->emulatorCall('GET', '/_emulator/rules')[$crm];
            $this->assertSame($target, $rules[$rule]['target_url']);
            $this->assertSame(['name' => 'subscriber.tag_add', 'tag_id' => 4], $rules[$rule]['event']);
            crmhook_unregister_webhook($this->config($crm), $rule);
            $this->assertArrayNotHasKey($rule, $this->emulatorCall('GET', '/_emulator/rules')[$crm]);
            [$code] = $this->failing(fn () => crmhook_unregister_webhook($this->config($crm), $rule));
            $this->assertSame(404, $code);
        }
    }

    public function testConvertKitAndKitRemoveTheUpdateTag(): void
    {
        foreach (['convertkit', 'kit'] as $crm) {
            crmhook_remove_tag($this->config($crm), '1001', '2');
            $this->assertSame(['1'], crmhook_fetch_contact($this->config($crm), '1001')['tags']);
        }
    }

    public function testRulesAreOnlyForConvertKitAndKit(): void
    {
        $this->expectException(\ValueError::class);
        crmhook_register_webhook($this->config('keap'), 'subscriber.tag_add', '4', 'https://x.example/');
    }

    public function testA503IsRetriedOnceAfterRetryAfter(): void
    {
        $this->fault(['crm' => 'keap', 'path' => '/v2/contacts', 'status' => 503, 'retry_after' => 1, 'times' => 1]);
        $this->assertSame('ann.keap@example.com', crmhook_fetch_contact($this->config('keap'), '1001')['email']);
        $this->assertCount(2, $this->crmCalls('keap'));
    }

    public function testRateLimitingThatPersistsIs429(): void
    {
        $this->fault(['crm' => 'activecampaign', 'path' => '/api/3/contacts', 'status' => 429, 'body' => ['message' => 'Too many requests']]);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('activecampaign'), '1001'));
        $this->assertSame(429, $code);
        $this->assertStringContainsString('rate limited', $message);
        $this->assertCount(2, $this->crmCalls('activecampaign'), 'one retry, then give up');
    }

    public function testASlowCrmIs504(): void
    {
        ini_set('crmhook.http_timeout', '1');
        $this->fault(['crm' => 'funnelkit', 'path' => '/wp-json/autonami-app/contacts', 'mode' => 'delay', 'delay_ms' => 2500]);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('funnelkit'), '1001'));
        $this->assertSame(504, $code);
        $this->assertStringContainsString('FunnelKit: loading contact 1001 failed: no answer within 1 s', $message);
    }

    public function testAnHtmlChallengePageIs502AndSaysWhy(): void
    {
        $this->fault(['crm' => 'fluentcrm', 'path' => '/wp-json', 'mode' => 'html']);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('fluentcrm'), '1001'));
        $this->assertSame(502, $code);
        $this->assertStringContainsString('HTML page', $message);
        $this->assertStringContainsString('permalinks', $message);
    }

    public function testGarbageIs502(): void
    {
        $this->fault(['crm' => 'kit', 'path' => '/v4', 'mode' => 'garbage']);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('kit'), '1001'));
        $this->assertSame(502, $code);
        $this->assertStringContainsString('not JSON', $message);
    }

    public function testADroppedConnectionIs502AfterOneRetry(): void
    {
        $this->fault(['crm' => 'keap', 'path' => '/v2/contacts', 'mode' => 'drop', 'times' => 2]);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('keap'), '1001'));
        $this->assertSame(502, $code, $message);
        $this->assertStringContainsString('Keap: loading contact 1001 failed: the connection was dropped', $message);
        $this->assertCount(2, $this->crmCalls('keap'), 'one retry');
        $this->assertSame('ann.keap@example.com', crmhook_fetch_contact($this->config('keap'), '1001')['email'], 'the emulator serves on');
    }

    public function testFluentCrmMissingOnThatSiteIsNamed(): void
    {
        // A WordPress site without FluentCRM answers rest_no_route (here: the FunnelKit site).
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('fluentcrm', ['api_url' => self::$emulator . '/funnelkit', 'username' => 'funnel', 'password' => 'qrst uvwx yzab cdef']), '1001'));
        $this->assertSame(502, $code);
        $this->assertStringContainsString('rest_no_route', $message);
        $this->assertStringContainsString('FluentCRM installed and active', $message);
    }

    public function testNothingListensIs502(): void
    {
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config('keap', ['api_url' => 'http://127.0.0.1:9']), '1001'));
        $this->assertSame(502, $code);
        $this->assertStringContainsString('could not connect', $message);
    }
}
