<?php
/**
 * crmhook_parse_webhook against every CRM's wire format (docs/wire-formats.md): the realistic requests in
 * tests/fixtures/webhooks, then the URL contract's parameters that every CRM shares.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

final class ParseWebhookTest extends ExtensionTestCase
{
    /** @return iterable<string, array{string}> */
    public static function fixtureProvider(): iterable
    {
        $files = glob(CRMHOOK_TEST_FIXTURES . '/*.json') ?: [];
        sort($files);
        foreach ($files as $file) {
            yield basename($file, '.json') => [$file];
        }
    }

    /**
     * Each fixture is one request as the plugin would hand it over, and either the part of the
     * result it must produce (`expect`) or the refusal it must get (`throws`).
     *
     * @dataProvider fixtureProvider
     */
    public function testFixtureRequestParsesAsTheCrmMeantIt(string $file): void
    {
        $fixture = json_decode((string) file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
        $this->assertContains($fixture['crm'], self::CRMS, "$file: unknown crm");
        $this->assertStringStartsWith($fixture['crm'] . '-', basename($file), 'fixtures are named <crm>-<case>.json');
        $request = $fixture['request'];
        $this->assertIsString($request['body'], "$file: the body is the raw body, a string");
        $settings = ['crm' => $fixture['crm'], 'access_key' => self::KEY, 'fields' => true];

        if (isset($fixture['throws'])) {
            $this->assertArrayNotHasKey('expect', $fixture);
            $this->assertRefused(
                static fn () => crmhook_parse_webhook($request, $settings),
                $fixture['throws']['class'],
                $fixture['throws']['code'],
                $fixture['throws']['message'],
            );
            return;
        }

        $hook = crmhook_parse_webhook($request, $settings);
        $this->assertSame(self::HOOK_KEYS, array_keys($hook), 'the result always has the same keys, in order');
        $this->assertNotEmpty($fixture['expect'], "$file: a fixture must expect something");
        foreach ($fixture['expect'] as $key => $expected) {
            $this->assertArrayHasKey($key, $hook);
            $this->assertSame($expected, $hook[$key], "$file: result['$key']");
        }
    }

    public function testEveryCrmHasFixturesThatParseAndThatAreRefused(): void
    {
        $seen = [];
        foreach (glob(CRMHOOK_TEST_FIXTURES . '/*.json') ?: [] as $file) {
            $fixture = json_decode((string) file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
            $seen[$fixture['crm']][isset($fixture['throws']) ? 'throws' : 'expect'] = true;
        }
        foreach (self::CRMS as $crm) {
            $this->assertArrayHasKey($crm, $seen, "no fixture for $crm");
            $this->assertArrayHasKey('expect', $seen[$crm], "no parsing fixture for $crm");
        }
        foreach (['activecampaign', 'convertkit', 'fluentcrm', 'funnelkit', 'keap'] as $crm) {
            $this->assertArrayHasKey('throws', $seen[$crm], "no refusal fixture for $crm");
        }
    }

    // ---- the URL contract, for every CRM ------------------------------------------------------

    /** @return iterable<string, array{string}> */
    public static function crmProvider(): iterable
    {
        foreach (self::CRMS as $crm) {
            yield $crm => [$crm];
        }
    }

    /** @dataProvider crmProvider */
    public function testTestActionNeedsOnlyTheKey(string $crm): void
    {
        $hook = self::get($crm, self::query('test'));
        $this->assertSame('test', $hook['action']);
        $this->assertSame($crm, $hook['crm']);
        $this->assertNull($hook['contact_id']);
        $this->assertSame(self::HOOK_KEYS, array_keys($hook));
    }

    /** @dataProvider crmProvider */
    public function testFieldsAreLeftOutUnlessAskedFor(string $crm): void
    {
        $request = ['method' => 'GET', 'query' => self::query('update', ['contact_id' => '4711']), 'body' => '', 'content_type' => '', 'headers' => []];
        $hook = crmhook_parse_webhook($request, ['crm' => $crm, 'access_key' => self::KEY]);
        $this->assertSame(array_values(array_diff(self::HOOK_KEYS, ['fields'])), array_keys($hook), 'no fields key at all, the rest in order');
        $hook = crmhook_parse_webhook($request, ['crm' => $crm, 'access_key' => self::KEY, 'fields' => false]);
        $this->assertArrayNotHasKey('fields', $hook, 'false is not asking');
        $hook = crmhook_parse_webhook($request, ['crm' => $crm, 'access_key' => self::KEY, 'fields' => true]);
        $this->assertSame(self::HOOK_KEYS, array_keys($hook));
    }

    /**
     * Every result starts as a copy of one array the extension made at start-up: each one must
     * be an ordinary array that finds its keys, takes new ones and changes without touching the
     * next result.
     *
     * @dataProvider crmProvider
     */
    public function testEachResultIsAnOrdinaryArrayOfItsOwn(string $crm): void
    {
        $more = ['contact_id' => '4711', 'email' => 'ann@example.com', 'role' => 'editor', 'async' => '1'];
        $request = ['method' => 'GET', 'query' => self::query('update', $more), 'body' => '', 'content_type' => '', 'headers' => []];
        foreach ([false, true] as $fields) {
            $settings = ['crm' => $crm, 'access_key' => self::KEY, 'fields' => $fields];
            $first = crmhook_parse_webhook($request, $settings);
            foreach ($first as $key => $value) {
                $this->assertTrue(array_key_exists($key, $first), "finds $key");
                $this->assertSame($value, $first[$key]);
            }
            $this->assertArrayNotHasKey('missing', $first);
            $first['extra'] = 1;
            $first['contact_id'] = '1';
            unset($first['email']);
            $this->assertSame(1, $first['extra']);
            $this->assertArrayNotHasKey('email', $first);

            $second = crmhook_parse_webhook($request, $settings);
            $this->assertSame('4711', $second['contact_id']);
            $this->assertSame('ann@example.com', $second['email']);
            $this->assertSame('editor', $second['role']);
            $this->assertTrue($second['async']);
            $this->assertArrayNotHasKey('extra', $second);
        }
    }

    public function testFieldsOnRequestCarryEveryPayloadField(): void
    {
        $body = json_encode(['id' => 55, 'email' => 'cy@example.com', 'custom_values' => ['a' => '1', 'b' => '2']]);
        $request = ['method' => 'POST', 'query' => self::query('update'), 'body' => $body, 'content_type' => 'application/json', 'headers' => []];
        $without = crmhook_parse_webhook($request, ['crm' => 'fluentcrm', 'access_key' => self::KEY]);
        $with = crmhook_parse_webhook($request, ['crm' => 'fluentcrm', 'access_key' => self::KEY, 'fields' => true]);
        $this->assertSame(['a' => '1', 'b' => '2'], $with['fields']);
        unset($with['fields']);
        $this->assertSame($with, $without, 'asking for the fields changes nothing else');
    }

    /** @dataProvider crmProvider */
    public function testGenericContactIdInTheQueryWorksForEveryCrm(string $crm): void
    {
        $hook = self::get($crm, self::query('update', ['contact_id' => '4711']));
        $this->assertSame('update', $hook['action']);
        $this->assertSame('4711', $hook['contact_id']);
        $this->assertNull($hook['tags'], 'a bare URL carries no tags: they must be loaded');
        $this->assertSame([], $hook['fields']);
    }

    /** @dataProvider crmProvider */
    public function testGenericContactIdInAFormBodyWorksForEveryCrm(string $crm): void
    {
        $hook = self::postForm($crm, '', 'wpf_action=update_tags&access_key=' . self::KEY . '&contact_id=4711');
        $this->assertSame('update_tags', $hook['action']);
        $this->assertSame('4711', $hook['contact_id']);
    }

    /** @dataProvider crmProvider */
    public function testGenericContactIdInAJsonBodyWorksForEveryCrm(string $crm): void
    {
        $body = json_encode(['wpf_action' => 'add', 'access_key' => self::KEY, 'contact_id' => 4711]);
        $hook = self::postJson($crm, '', (string) $body);
        $this->assertSame('add', $hook['action']);
        $this->assertSame('4711', $hook['contact_id'], 'a numeric id comes back as a string');
    }

    /** @dataProvider crmProvider */
    public function testCamelCaseContactIdWorksForEveryCrm(string $crm): void
    {
        $this->assertSame('808', self::get($crm, self::query('add', ['contactId' => '808']))['contact_id']);
    }

    public function testQueryContactIdWinsOverThePayloadId(): void
    {
        $hook = self::postJson('fluentcrm', self::query('update', ['contact_id' => '9']), '{"id":55,"email":"a@example.com"}');
        $this->assertSame('9', $hook['contact_id']);
        $this->assertSame('a@example.com', $hook['email']);
    }

    public function testEmailParameterWinsOverThePayloadEmail(): void
    {
        $body = 'contact%5Bid%5D=5&contact%5Bemail%5D=old%40example.com';
        $hook = self::postForm('activecampaign', self::query('add', ['email' => 'new@example.com']), $body);
        $this->assertSame('new@example.com', $hook['email']);
    }

    public function testActionsAreCaseInsensitive(): void
    {
        $hook = self::get('keap', 'wpf_action=UPDATE_TAGS&access_key=' . self::KEY . '&contact_id=5');
        $this->assertSame('update_tags', $hook['action']);
    }

    public function testContactIdIsTrimmed(): void
    {
        $this->assertSame('42', self::get('fluentcrm', self::query('add', ['contact_id' => ' 42 ']))['contact_id']);
    }

    public function testSixtyFourDigitContactIdIsAccepted(): void
    {
        $id = str_repeat('9', 64);
        $this->assertSame($id, self::get('keap', self::query('add', ['contact_id' => $id]))['contact_id']);
    }

    public function testThirtyDigitContactIdInTheQueryIsKeptExactly(): void
    {
        // Never through a float: the id is text from start to end.
        $id = '123456789012345678901234567890';
        $this->assertSame($id, self::get('keap', self::query('add', ['contact_id' => $id]))['contact_id']);
        $this->assertSame($id, self::postJson('fluentcrm', self::query('add'), '{"id":"' . $id . '"}')['contact_id']);
    }

    public function testLargestUnsignedJsonIntegerIdIsKeptExactly(): void
    {
        $hook = self::postJson('fluentcrm', self::query('add'), '{"id":18446744073709551615}');
        $this->assertSame('18446744073709551615', $hook['contact_id']);
    }

    /** @return iterable<string, array{string, bool}> */
    public static function booleanProvider(): iterable
    {
        foreach (['true', 'TRUE', '1', 'yes', 'Yes', 'on', 'ON', ' true '] as $v) {
            yield "true: '$v'" => [$v, true];
        }
        foreach (['false', 'False', 'FALSE', '0', 'no', 'off', 'Off', ''] as $v) {
            yield "false: '$v'" => [$v, false];
        }
    }

    /** @dataProvider booleanProvider */
    public function testBooleansFollowCrmMd(string $value, bool $expected): void
    {
        $hook = self::get('funnelkit', self::query('add', ['contact_id' => '3', 'send_notification' => $value, 'async' => $value]));
        $this->assertSame($expected, $hook['send_notification']);
        $this->assertSame($expected, $hook['async']);
    }

    public function testTheStringFalseIsFalseInEveryPlaceItCanCome(): void
    {
        // The incumbent treats "false" as true in places (docs/wire-formats.md): here it never is.
        $this->assertFalse(self::get('keap', self::query('add', ['contact_id' => '3', 'send_notification' => 'false']))['send_notification']);
        $form = 'contactId=3&wpf_action=add&access_key=' . self::KEY . '&send_notification=false';
        $this->assertFalse(self::postForm('keap', '', $form)['send_notification']);
        $json = json_encode(['contact_id' => '3', 'wpf_action' => 'add', 'access_key' => self::KEY, 'send_notification' => 'false']);
        $this->assertFalse(self::postJson('funnelkit', '', (string) $json)['send_notification']);
        $json = json_encode(['contact_id' => '3', 'wpf_action' => 'add', 'access_key' => self::KEY, 'send_notification' => false]);
        $this->assertFalse(self::postJson('funnelkit', '', (string) $json)['send_notification'], 'JSON false');
        $json = json_encode(['contact_id' => '3', 'wpf_action' => 'add', 'access_key' => self::KEY, 'send_notification' => true]);
        $this->assertTrue(self::postJson('funnelkit', '', (string) $json)['send_notification'], 'JSON true');
    }

    public function testAbsentBooleansAreFalseAndNull(): void
    {
        $hook = self::get('keap', self::query('add', ['contact_id' => '3']));
        $this->assertFalse($hook['send_notification']);
        $this->assertNull($hook['async'], 'async is null when not given, so the site setting decides');
    }

    public function testRoleIsLowerCasedAndPassedOnForThePlanToJudge(): void
    {
        // Whether it may be granted is crmhook_map_contact's decision, not the parser's.
        $hook = self::get('funnelkit', self::query('add', ['contact_id' => '3', 'role' => 'Administrator']));
        $this->assertSame('administrator', $hook['role']);
        $this->assertNull(self::get('funnelkit', self::query('add', ['contact_id' => '3', 'role' => '']))['role']);
    }

    public function testGetIgnoresAnyBody(): void
    {
        $hook = self::parse('funnelkit', [
            'method' => 'GET', 'query' => self::query('add', ['contact_id' => '1']),
            'body' => '{broken', 'content_type' => 'application/json',
        ]);
        $this->assertSame('1', $hook['contact_id']);
    }

    public function testMissingMethodIsGet(): void
    {
        $hook = crmhook_parse_webhook(
            ['query' => self::query('add', ['contact_id' => '1']), 'body' => '{broken', 'content_type' => 'application/json'],
            ['crm' => 'funnelkit', 'access_key' => self::KEY],
        );
        $this->assertSame('1', $hook['contact_id']);
    }

    public function testJsonBodyWithoutContentTypeIsRecognised(): void
    {
        // CRMs are not always precise about Content-Type: a body that opens with { is JSON.
        $hook = self::parse('fluentcrm', ['query' => self::query('add'), 'body' => ' {"id":77}', 'content_type' => '']);
        $this->assertSame('77', $hook['contact_id']);
        $hook = self::parse('fluentcrm', ['query' => self::query('add'), 'body' => '{"id":78}', 'content_type' => 'text/plain']);
        $this->assertSame('78', $hook['contact_id']);
    }

    public function testVendorJsonContentTypeIsJson(): void
    {
        $hook = self::parse('fluentcrm', [
            'query' => self::query('add'), 'body' => '{"id":79}', 'content_type' => 'application/vnd.api+json; charset=utf-8',
        ]);
        $this->assertSame('79', $hook['contact_id']);
    }

    public function testNumericStringFieldIdsAreIntKeysReachableAsStrings(): void
    {
        $body = 'contact%5Bid%5D=5&contact%5Bfields%5D%5B12%5D=Gold&contact%5Bfields%5D%5B012%5D=lead-zero&contact%5Bfields%5D%5Bcolor%5D=red';
        $fields = self::postForm('activecampaign', self::query('add'), $body)['fields'];
        $this->assertSame('Gold', $fields['12']);
        $this->assertSame('Gold', $fields[12]);
        $this->assertContains(12, array_keys($fields), 'an integer key, as PHP would make it');
        $this->assertContains('012', array_keys($fields), '"012" stays a string key, as in PHP');
        $this->assertSame('lead-zero', $fields['012']);
        $this->assertSame('red', $fields['color']);
    }

    public function testFieldKeysAreTheKeysPhpItselfWouldMake(): void
    {
        // Compare with parse_str on the very same body: the plugin may mix both.
        $keys = ['12', '012', '-5', '-0', '9223372036854775807', '9223372036854775808', '1.5', 'color'];
        $body = 'contact%5Bid%5D=5';
        foreach ($keys as $i => $key) {
            $body .= '&contact%5Bfields%5D%5B' . rawurlencode($key) . '%5D=v' . $i;
        }
        parse_str($body, $php);
        $fields = self::postForm('activecampaign', self::query('add'), $body)['fields'];
        $this->assertSame($php['contact']['fields'], $fields);
    }

    public function testRepeatedFormKeyLastOneWinsAsInPhp(): void
    {
        $body = 'contact%5Bid%5D=5&contact%5Bfirst_name%5D=Ann&contact%5Bfirst_name%5D=Anna';
        $this->assertSame(['first_name' => 'Anna'], self::postForm('activecampaign', self::query('add'), $body)['fields']);
    }

    public function testActiveCampaignTagsAreTrimmedDeduplicatedAndKeepTheirOrder(): void
    {
        $body = 'contact%5Bid%5D=5&contact%5Btags%5D=' . rawurlencode(' Zeta, Alpha,, Zeta ,Beta,  ');
        $this->assertSame(['Zeta', 'Alpha', 'Beta'], self::postForm('activecampaign', self::query('update_tags'), $body)['tags']);
    }

    public function testFluentCrmTagsMayBeBareIdsOrNames(): void
    {
        $hook = self::postJson('fluentcrm', self::query('update_tags'), '{"id":5,"tags":[3,"7",{"id":"9","title":"X"},3]}');
        $this->assertSame(['3', '7', '9'], $hook['tags']);
    }

    public function testKeysTheCrmDoesNotSendAreIgnoredNotInvented(): void
    {
        // ConvertKit, Kit and FluentCRM only speak JSON: a form body carries just the URL contract.
        $hook = self::postForm('convertkit', self::query('add'), 'contact_id=5&Email=x%40example.com&FirstName=X&contact%5Bid%5D=6');
        $this->assertSame('5', $hook['contact_id']);
        $this->assertNull($hook['email']);
        $this->assertSame([], $hook['fields']);
        // Keap's merge fields mean nothing to ActiveCampaign, and the other way round.
        $hook = self::postForm('activecampaign', self::query('add'), 'contact%5Bid%5D=6&FirstName=X&_Custom=y');
        $this->assertSame([], $hook['fields']);
        $hook = self::postForm('keap', self::query('add'), 'contactId=6&contact%5Bfirst_name%5D=X');
        $this->assertSame([], $hook['fields']);
    }

    public function testMultipartFormWithTheUrlContractInTheQuery(): void
    {
        $hook = self::parse('keap', [
            'query' => self::query('add'), 'body' => '', 'content_type' => 'multipart/form-data; boundary=x',
            'form' => ['contactId' => '20391', 'Email' => 'li.wei@example.com', 'FirstName' => 'Li', '_Level' => 'Gold'],
        ]);
        $this->assertSame('20391', $hook['contact_id']);
        $this->assertSame('li.wei@example.com', $hook['email']);
        $this->assertSame(['first_name' => 'Li', '_Level' => 'Gold'], $hook['fields']);
    }

    public function testMultipartFormScalarsBecomeText(): void
    {
        $hook = self::parse('activecampaign', [
            'query' => self::query('add'), 'content_type' => 'multipart/form-data',
            'form' => ['contact' => ['id' => 42, 'fields' => [7 => 3.5, 8 => true, 9 => null]]],
        ]);
        $this->assertSame('42', $hook['contact_id']);
        $this->assertSame([7 => '3.5', 8 => '1', 9 => ''], $hook['fields']);
    }
}
