<?php
/**
 * Bad input never crashes PHP: every malformed, oversized, hostile or mistyped request ends as
 * an exception with the right class, code (the HTTP status of docs/architecture.md's table) and a message
 * that says what is wrong, without the access key and without carrying the payload.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use CrmHook\WebhookException;
use TypeError;
use ValueError;

final class BadInputTest extends ExtensionTestCase
{
    // ---- malformed bodies: 400 --------------------------------------------------------------------

    /** @return iterable<string, array{string, string, string}> */
    public static function malformedJsonProvider(): iterable
    {
        yield 'broken JSON' => ['{"id": 5,', 'application/json', 'malformed JSON'];
        yield 'not JSON at all' => ['{id=5}', 'application/json', 'malformed JSON'];
        yield 'trailing garbage' => ['{"id":5} and more', 'application/json', 'trailing'];
        yield 'a list, not an object' => ['[{"id":5}]', 'application/json', 'JSON object'];
        yield 'a bare string' => ['"55"', 'application/json', 'JSON object'];
        yield 'duplicate top-level keys' => ['{"id":1,"id":2}', 'application/json', 'duplicate'];
        yield 'lone surrogate escape' => ['{"id":5,"first_name":"\ud800"}', 'application/json', 'malformed JSON'];
        yield 'invalid UTF-8 in a string' => ["{\"id\":5,\"first_name\":\"Jos\xe9\"}", 'application/json', 'malformed JSON'];
        yield 'invalid UTF-8 in a key' => ["{\"id\":5,\"\xc3\x28\":1}", 'application/json', 'malformed JSON'];
        yield 'invalid UTF-8, no content type' => ["{\"id\":\"5\xff\"}", '', 'malformed JSON'];
        yield 'unclosed, 100,000 deep' => ['{"id":5,"x":' . str_repeat('[', 100000), 'application/json', 'malformed JSON'];
        yield '100,000 deep at the top' => [str_repeat('[', 100000) . str_repeat(']', 100000), 'application/json', 'JSON object'];
        yield '100,000 deep in custom_values' => ['{"id":5,"custom_values":{"a":' . str_repeat('[', 100000) . str_repeat(']', 100000) . '}}', 'application/json', 'malformed JSON'];
        yield '100,000 deep in tags' => ['{"id":5,"tags":' . str_repeat('[', 100000) . str_repeat(']', 100000) . '}', 'application/json', 'malformed JSON'];
        yield 'number out of range as id' => ['{"id":1e400}', 'application/json', 'malformed JSON'];
        yield 'number out of range as a field' => ['{"id":5,"custom_values":{"big":-1e400}}', 'application/json', 'malformed JSON'];
        yield 'id as a list' => ['{"id":[55]}', 'application/json', 'malformed JSON'];
        yield 'id as an object' => ['{"id":{"value":55}}', 'application/json', 'malformed JSON'];
        yield 'email as an object' => ['{"id":55,"email":{"a":"b"}}', 'application/json', 'malformed JSON'];
        yield 'first_name as a list' => ['{"id":55,"first_name":["Ann"]}', 'application/json', 'malformed JSON'];
        yield 'a tag object without id' => ['{"id":55,"tags":[{"title":"VIP"}]}', 'application/json', 'id'];
        yield 'a tag that is true' => ['{"id":55,"tags":[true]}', 'application/json', 'malformed JSON'];
        yield 'custom_values as a list' => ['{"id":55,"custom_values":["a"]}', 'application/json', 'malformed JSON'];
        yield 'custom value as an object' => ['{"id":55,"custom_values":{"a":{"b":1}}}', 'application/json', 'malformed JSON'];
    }

    /** @dataProvider malformedJsonProvider */
    public function testMalformedJsonIs400(string $body, string $contentType, string $fragment): void
    {
        $this->assertWebhookRefused(
            fn () => self::parse('fluentcrm', ['query' => self::query('add'), 'body' => $body, 'content_type' => $contentType]),
            400,
            $fragment,
        );
    }

    public function testJsonNullIdIsAMissingId(): void
    {
        $this->assertWebhookRefused(fn () => self::postJson('fluentcrm', self::query('add'), '{"id":null}'), 422, 'no contact id');
    }

    public function testDeeplyNestedJsonInAKeyNobodyReadsIsSkippedWithoutRecursion(): void
    {
        // 100,000 levels, closed: valid JSON whose depth is in a key crmhook skips.
        $body = '{"id":5,"lists":' . str_repeat('[', 100000) . str_repeat(']', 100000) . '}';
        $this->assertSame('5', self::postJson('fluentcrm', self::query('add'), $body)['contact_id']);
        $body = '{"subscriber":{"id":6,"extra":' . str_repeat('{"a":', 100000) . '1' . str_repeat('}', 100000) . '}}';
        $this->assertSame('6', self::postJson('kit', self::query('add'), $body)['contact_id']);
    }

    public function testDuplicateKeysInsideCustomValuesKeepTheLastAsPhpWould(): void
    {
        $hook = self::postJson('fluentcrm', self::query('add'), '{"id":5,"custom_values":{"level":"silver","level":"gold"}}');
        $this->assertSame(['level' => 'gold'], $hook['fields']);
    }

    /** @return iterable<string, array{string, string}> */
    public static function invalidUtf8FormProvider(): iterable
    {
        yield 'percent-encoded Latin-1' => ['contact%5Bid%5D=5&contact%5Bfirst_name%5D=Jos%E9', 'contact[first_name]'];
        yield 'raw invalid byte' => ["contact%5Bid%5D=5&contact%5Blast_name%5D=\xff", 'contact[last_name]'];
        yield 'truncated sequence' => ['contact%5Bid%5D=5&contact%5Btags%5D=%C3', 'contact[tags]'];
        yield 'invalid key' => ['contact%5Bid%5D=5&%FF%FE=1', 'not valid UTF-8'];
    }

    /** @dataProvider invalidUtf8FormProvider */
    public function testInvalidUtf8InAFormBodyIs400NamingTheKey(string $body, string $fragment): void
    {
        $e = $this->assertWebhookRefused(fn () => self::postForm('activecampaign', self::query('add'), $body), 400, $fragment);
        $this->assertTrue(mb_check_encoding($e->getMessage(), 'UTF-8'), 'the message itself is valid UTF-8');
    }

    public function testInvalidUtf8InAMultipartFormIs400(): void
    {
        $this->assertWebhookRefused(
            fn () => self::parse('activecampaign', [
                'query' => self::query('add'), 'content_type' => 'multipart/form-data',
                'form' => ['contact' => ['id' => '5', 'first_name' => "Jos\xe9"]],
            ]),
            400,
            'contact[first_name]',
        );
    }

    /**
     * The key is right, so this is a malformed request (400), not a wrong key (403). Found by
     * this suite: when another parameter of the query string is not valid UTF-8, the key in that
     * same query string is not read, and the owner is told the key is wrong.
     */
    public function testInvalidUtf8InTheQueryWithTheRightKeyIs400NotAWrongKey(): void
    {
        $this->assertWebhookRefused(
            fn () => self::get('funnelkit', self::query('add') . '&contact_id=5&role=%E9diteur'),
            400,
            'not valid UTF-8',
        );
    }

    /**
     * Keap and FunnelKit send the key among the form's name/value pairs: a contact whose name
     * arrives in Latin-1 must get "malformed" (400), not "wrong access key" (403). Found by this
     * suite, like the query-string case above.
     */
    public function testInvalidUtf8InAKeapFormWithTheRightKeyIs400NotAWrongKey(): void
    {
        $body = 'contactId=20391&wpf_action=add&access_key=' . self::KEY . '&FirstName=Jos%E9';
        $this->assertWebhookRefused(fn () => self::postForm('keap', '', $body), 400, 'FirstName');
    }

    public function testFormNestedTooDeeplyIs400(): void
    {
        $deep = 'x';
        for ($i = 0; $i < 1000; $i++) {
            $deep = ['a' => $deep];
        }
        $this->assertWebhookRefused(
            fn () => self::parse('activecampaign', ['query' => self::query('add'), 'content_type' => 'multipart/form-data', 'form' => ['contact' => $deep]]),
            400,
            'nested too deeply',
        );
    }

    public function testFormKeyWith100000BracketsIsJustAnUnknownKey(): void
    {
        $body = 'contact%5Bid%5D=5&contact' . str_repeat('[a]', 100000) . '=x&' . str_repeat('[', 50000) . '=y';
        $hook = self::postForm('activecampaign', self::query('add'), $body);
        $this->assertSame('5', $hook['contact_id']);
        $this->assertSame([], $hook['fields']);
    }

    // ---- the body limit: 413 ----------------------------------------------------------------------

    public function testDefaultLimitIsOneMebibyteFromTheIni(): void
    {
        $this->assertSame('1048576', ini_get('crmhook.max_body_bytes'));
        $atLimit = 'x=' . str_repeat('a', 1048576 - 2);
        $hook = self::parse('keap', ['query' => self::query('test'), 'body' => $atLimit, 'content_type' => 'application/x-www-form-urlencoded']);
        $this->assertSame('test', $hook['action'], 'exactly 1 MiB is accepted');
        $this->assertWebhookRefused(
            fn () => self::parse('keap', ['query' => self::query('test'), 'body' => $atLimit . 'a', 'content_type' => 'application/x-www-form-urlencoded']),
            413,
            'over the limit of 1048576 bytes',
        );
    }

    public function testLimitIsOverriddenPerCall(): void
    {
        $request = ['query' => self::query('test'), 'body' => 'x=123456789', 'content_type' => 'application/x-www-form-urlencoded'];
        $this->assertWebhookRefused(fn () => self::parse('keap', $request, ['max_body_bytes' => 10]), 413, 'limit of 10 bytes');
        $this->assertSame('test', self::parse('keap', $request, ['max_body_bytes' => 11])['action']);
        $big = ['body' => 'x=' . str_repeat('a', 1048576)] + $request;
        $this->assertSame('test', self::parse('keap', $big, ['max_body_bytes' => 2 * 1048576])['action'], 'a call may raise it too');
        $this->assertSame('test', self::parse('keap', $request, ['max_body_bytes' => null])['action'], 'null means the INI value');
    }

    public function testLimitFollowsIniSet(): void
    {
        $this->assertNotFalse(ini_set('crmhook.max_body_bytes', '100'));
        $request = ['query' => self::query('test'), 'body' => 'x=' . str_repeat('a', 98), 'content_type' => 'application/x-www-form-urlencoded'];
        $this->assertSame('test', self::parse('keap', $request)['action']);
        $request['body'] .= 'a';
        $this->assertWebhookRefused(fn () => self::parse('keap', $request), 413, 'limit of 100 bytes');
        $this->assertSame('test', self::parse('keap', $request, ['max_body_bytes' => 1000])['action'], 'the per-call value wins');
    }

    public function testUnusableIniValueFallsBackToTheDefaultLimit(): void
    {
        ini_set('crmhook.max_body_bytes', 'lots');
        $small = ['query' => self::query('test'), 'body' => 'x=1', 'content_type' => 'application/x-www-form-urlencoded'];
        $this->assertSame('test', self::parse('keap', $small)['action'], 'not zero: small bodies still pass');
        $this->assertWebhookRefused(
            fn () => self::parse('keap', ['body' => str_repeat('a', 1048577)] + $small),
            413,
            'limit of 1048576 bytes',
        );
    }

    public function testNegativeLimitIsAValueError(): void
    {
        $this->assertRefused(
            fn () => self::parse('keap', ['query' => self::query('test')], ['max_body_bytes' => -1]),
            ValueError::class,
            0,
            'max_body_bytes',
        );
    }

    // ---- the URL contract's parameters: 400 ----------------------------------------------------------

    public function testUnknownActionIs400AndNamesIt(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('delete_user', ['contact_id' => '5'])), 400, '"delete_user"');
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('', ['contact_id' => '5'])), 400, 'wpf_action');
    }

    public function testMissingActionIs400(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', 'access_key=' . self::KEY . '&contact_id=5'), 400, 'no wpf_action');
        $this->assertWebhookRefused(fn () => self::get('keap', 'wpf_action%5B%5D=add&access_key=' . self::KEY), 400, 'no wpf_action');
    }

    public function testActionAsAJsonListIs400(): void
    {
        $this->assertWebhookRefused(
            fn () => self::postJson('funnelkit', 'access_key=' . self::KEY, '{"wpf_action":["add"],"contact_id":5}'),
            400,
            'malformed JSON',
        );
    }

    /** @return iterable<string, array{string, string}> */
    public static function badBooleanProvider(): iterable
    {
        yield 'maybe' => ['send_notification', 'maybe'];
        yield '2' => ['send_notification', '2'];
        yield 'truee' => ['send_notification', 'truee'];
        yield 'null text' => ['async', 'null'];
        yield 'y' => ['async', 'y'];
    }

    /** @dataProvider badBooleanProvider */
    public function testBadBooleanIs400NamingTheParameter(string $name, string $value): void
    {
        $e = $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => '5', $name => $value])), 400, $name);
        $this->assertStringContainsString("\"$value\"", $e->getMessage());
    }

    public function testRoleThatIsNoRoleNameIs400(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => '5', 'role' => 'shop manager'])), 400, 'role');
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => '5', 'role' => "admin\0"])), 400, 'role');
    }

    public function testInvalidEmailIs400(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => '5', 'email' => 'not an email'])), 400, 'email');
        $this->assertWebhookRefused(fn () => self::postJson('fluentcrm', self::query('add'), '{"id":5,"email":"a\u0000@example.com"}'), 400, 'email');
    }

    // ---- the contact id: 422 when missing, 400 when unusable ---------------------------------------------

    /** @return iterable<string, array{string, string}> */
    public static function missingContactIdProvider(): iterable
    {
        yield 'activecampaign' => ['activecampaign', 'contact[id]'];
        yield 'convertkit' => ['convertkit', 'subscriber.id'];
        yield 'kit' => ['kit', 'subscriber.id'];
        yield 'fluentcrm' => ['fluentcrm', 'as id'];
        yield 'funnelkit' => ['funnelkit', 'contact_id = {{contact_id}}'];
        yield 'keap' => ['keap', 'contactId = ~Contact.Id~'];
    }

    /** @dataProvider missingContactIdProvider */
    public function testMissingContactIdIs422AndSaysWhereThatCrmSendsIt(string $crm, string $hint): void
    {
        $this->assertWebhookRefused(fn () => self::get($crm, self::query('add')), 422, $hint);
        $this->assertWebhookRefused(fn () => self::get($crm, self::query('update_tags', ['contact_id' => ''])), 422, $hint);
        $this->assertWebhookRefused(fn () => self::get($crm, self::query('update', ['contact_id' => '   '])), 422, $hint);
    }

    public function testContactIdAsAQueryArrayIsNotAContactId(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add') . '&contact_id%5B%5D=5'), 422, 'no contact id');
    }

    /** @return iterable<string, array{string, string, string}> */
    public static function unfilledMergeFieldProvider(): iterable
    {
        yield 'Keap ~Contact.Id~ in a form' => ['keap', 'form', '~Contact.Id~'];
        yield 'Keap ~Contact.Id~ in the query' => ['keap', 'query', '~Contact.Id~'];
        yield 'FunnelKit {{contact_id}} in the query' => ['funnelkit', 'query', '{{contact_id}}'];
        yield 'FunnelKit {{contact_id}} in JSON' => ['funnelkit', 'json', '{{contact_id}}'];
        yield 'FunnelKit {{ contact_id }} with blanks' => ['funnelkit', 'query', '{{ contact_id }}'];
    }

    /** @dataProvider unfilledMergeFieldProvider */
    public function testUnfilledMergeFieldIs400MentioningMergeField(string $crm, string $where, string $placeholder): void
    {
        $call = match ($where) {
            'form' => fn () => self::postForm($crm, self::query('add'), 'contactId=' . rawurlencode($placeholder)),
            'query' => fn () => self::get($crm, self::query('add', ['contact_id' => $placeholder])),
            'json' => fn () => self::postJson($crm, self::query('add'), (string) json_encode(['contact_id' => $placeholder])),
        };
        $e = $this->assertWebhookRefused($call, 400, 'merge field');
        $this->assertStringContainsString($placeholder, $e->getMessage(), 'the message shows what arrived');
    }

    public function testContactIdOver64BytesIs400(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => str_repeat('1', 65)])), 400, 'the limit is 64');
        $e = $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => str_repeat('7', 100000)])), 400, 'contact id');
        $this->assertLessThan(300, strlen($e->getMessage()), 'a huge id is not echoed back');
    }

    /** @return iterable<string, array{string}> */
    public static function nonDigitIdProvider(): iterable
    {
        foreach (['abc', '12a', '-5', '1.5', '1e30', '0x1F', '１２', "5\0"] as $id) {
            yield json_encode($id) => [$id];
        }
    }

    /** @dataProvider nonDigitIdProvider */
    public function testContactIdThatIsNotDigitsIs400(string $id): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add', ['contact_id' => $id])), 400, 'contact id');
    }

    public function testHugeJsonIntegerIdIs400NotARoundedNumber(): void
    {
        // Past u64 the number would only survive as a float: refused rather than rounded to the
        // id of some other contact.
        $e = $this->assertWebhookRefused(
            fn () => self::postJson('fluentcrm', self::query('add'), '{"id":123456789012345678901234567890}'),
            400,
            'contact id',
        );
        $this->assertStringNotContainsString('123456789012345678901234567890', $e->getMessage());
        $this->assertWebhookRefused(fn () => self::postJson('kit', self::query('add'), '{"subscriber":{"id":1e30}}'), 400, 'contact id');
        $this->assertWebhookRefused(fn () => self::postJson('kit', self::query('add'), '{"subscriber_id":18446744073709551616}'), 400, 'contact id');
    }

    // ---- NUL bytes -----------------------------------------------------------------------------------

    public function testNulByteInAFieldIs400(): void
    {
        $this->assertWebhookRefused(
            fn () => self::postForm('activecampaign', self::query('add'), 'contact%5Bid%5D=5&contact%5Bfields%5D%5B3%5D=a%00b'),
            400,
            'NUL',
        );
        $this->assertWebhookRefused(
            fn () => self::postJson('fluentcrm', self::query('add'), '{"id":5,"custom_values":{"bio":"a\u0000b"}}'),
            400,
            'NUL',
        );
        $this->assertWebhookRefused(
            fn () => self::postForm('keap', self::query('add'), 'contactId=5&FirstName=Ann%00admin'),
            400,
            'NUL',
        );
    }

    public function testNulByteInAFieldNameIs400(): void
    {
        $this->assertWebhookRefused(
            fn () => self::postJson('fluentcrm', self::query('add'), '{"id":5,"custom_values":{"a\u0000b":"x"}}'),
            400,
            'NUL',
        );
    }

    public function testNulByteInATagIs400(): void
    {
        $this->assertWebhookRefused(
            fn () => self::postForm('activecampaign', self::query('add'), 'contact%5Bid%5D=5&contact%5Btags%5D=VIP%2C+a%00b'),
            400,
            'NUL',
        );
        $this->assertWebhookRefused(fn () => self::postJson('fluentcrm', self::query('add'), '{"id":5,"tags":[{"id":"3\u0000"}]}'), 400, 'NUL');
    }

    public function testNulByteInTheContactIdIs400(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', self::query('add') . '&contact_id=5%00'), 400, 'contact id');
    }

    // ---- empty bodies ----------------------------------------------------------------------------------

    public function testEmptyBodyWithAJsonContentTypeIsNoBody(): void
    {
        foreach (['', '  ', "\r\n\t "] as $body) {
            $hook = self::postJson('funnelkit', self::query('add', ['contact_id' => '1']), $body);
            $this->assertSame('1', $hook['contact_id']);
            $this->assertNull($hook['tags']);
        }
        $this->assertWebhookRefused(fn () => self::postJson('fluentcrm', self::query('add'), ''), 422, 'no contact id');
    }

    public function testNullRequestFieldsAreTreatedAsAbsent(): void
    {
        // The plugin may pass null for what the request lacks: that is "empty", not a TypeError.
        $request = ['method' => null, 'query' => null, 'body' => null, 'content_type' => null, 'form' => null,
            'headers' => ['x-crmhook-key' => self::KEY]];
        $this->assertWebhookRefused(fn () => crmhook_parse_webhook($request, ['crm' => 'keap', 'access_key' => self::KEY]), 400, 'no wpf_action');
        $request['headers'] = null;
        $this->assertWebhookRefused(fn () => crmhook_parse_webhook($request, ['crm' => 'keap', 'access_key' => self::KEY]), 403, 'access key');
    }

    // ---- wrong PHP types: TypeError, unknown CRM: ValueError -------------------------------------------------

    /** @return iterable<string, array{array<string, mixed>, array<string, mixed>, string}> */
    public static function wrongTypeProvider(): iterable
    {
        $ok = ['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . self::KEY];
        $settings = ['crm' => 'keap', 'access_key' => self::KEY];
        yield 'method is an array' => [['method' => ['GET']] + $ok, $settings, 'Argument #1 ($request) key "method"'];
        yield 'method is an object' => [['method' => new \stdClass()] + $ok, $settings, 'Argument #1 ($request) key "method"'];
        yield 'query is an array' => [['query' => ['wpf_action' => 'test']] + $ok, $settings, 'Argument #1 ($request) key "query"'];
        yield 'query is an int' => [['query' => 5] + $ok, $settings, 'Argument #1 ($request) key "query"'];
        yield 'body is an array' => [['body' => ['id' => 5]] + $ok, $settings, 'Argument #1 ($request) key "body"'];
        yield 'body is a float' => [['body' => 1.5] + $ok, $settings, 'Argument #1 ($request) key "body"'];
        yield 'content_type is an array' => [['content_type' => ['application/json']] + $ok, $settings, 'Argument #1 ($request) key "content_type"'];
        yield 'content_type is invalid UTF-8' => [['content_type' => "application/json\xff"] + $ok, $settings, 'Argument #1 ($request) key "content_type"'];
        yield 'headers is a string' => [['headers' => 'X-Crmhook-Key: x'] + $ok, $settings, 'Argument #1 ($request) key "headers"'];
        yield 'crm is an array' => [$ok, ['crm' => ['keap']] + $settings, 'Argument #2 ($settings) key "crm"'];
        yield 'access_key is an array' => [$ok, ['access_key' => [self::KEY]] + $settings, 'Argument #2 ($settings) key "access_key"'];
        yield 'access_key is invalid UTF-8' => [$ok, ['access_key' => "\xff" . self::KEY] + $settings, 'Argument #2 ($settings) key "access_key"'];
        yield 'max_body_bytes is a string' => [$ok, ['max_body_bytes' => '1000'] + $settings, 'max_body_bytes'];
        yield 'max_body_bytes is a float' => [$ok, ['max_body_bytes' => 10.5] + $settings, 'max_body_bytes'];
    }

    /**
     * @dataProvider wrongTypeProvider
     * @param array<string, mixed> $request
     * @param array<string, mixed> $settings
     */
    public function testWrongTypesInRequestOrSettingsAreATypeError(array $request, array $settings, string $fragment): void
    {
        $this->assertRefused(fn () => crmhook_parse_webhook($request, $settings), TypeError::class, 0, $fragment);
    }

    public function testNonArrayArgumentsAreATypeError(): void
    {
        $this->assertRefused(fn () => crmhook_parse_webhook('wpf_action=test', ['crm' => 'keap']), TypeError::class, 0, 'request');
        $this->assertRefused(fn () => crmhook_parse_webhook([], 'keap'), TypeError::class, 0, 'settings');
    }

    /** @return iterable<string, array{mixed}> */
    public static function unknownCrmProvider(): iterable
    {
        yield 'hubspot' => ['hubspot'];
        yield 'empty' => [''];
        yield 'the meta slug, not the crm' => ['infusionsoft'];
        yield 'null' => [null];
    }

    /** @dataProvider unknownCrmProvider */
    public function testUnknownCrmIsAValueError(?string $crm): void
    {
        $this->assertRefused(
            fn () => crmhook_parse_webhook(['method' => 'GET', 'query' => self::query('test')], ['crm' => $crm, 'access_key' => self::KEY]),
            ValueError::class,
            0,
            'unknown crm',
        );
    }

    public function testCrmSlugIsCaseInsensitive(): void
    {
        $hook = crmhook_parse_webhook(['method' => 'GET', 'query' => self::query('test')], ['crm' => ' FluentCRM ', 'access_key' => self::KEY]);
        $this->assertSame('fluentcrm', $hook['crm']);
    }

    // ---- what messages may carry ---------------------------------------------------------------------------------

    /**
     * The key sits in the query, a header or the body of these requests, and each is refused for
     * some other reason: the message must never repeat the key. (Every refusal in this suite is
     * checked the same way by assertRefused.)
     *
     * @return iterable<string, array{string, array<string, mixed>, int}>
     */
    public static function refusalWithTheKeyAroundProvider(): iterable
    {
        $k = self::KEY;
        yield 'key in query, unknown action' => ['keap', ['method' => 'GET', 'query' => "access_key=$k&wpf_action=nope"], 400];
        yield 'key in header, bad boolean' => ['keap', ['method' => 'GET', 'query' => 'wpf_action=add&contact_id=1&async=perhaps', 'headers' => ['x-crmhook-key' => $k]], 400];
        yield 'key in form, missing id' => ['keap', ['body' => "access_key=$k&wpf_action=add", 'content_type' => 'application/x-www-form-urlencoded'], 422];
        yield 'key in JSON, broken afterwards' => ['funnelkit', ['query' => "wpf_action=add&access_key=$k", 'body' => "{\"access_key\":\"$k\",\"contact_id\":", 'content_type' => 'application/json'], 400];
        yield 'key in JSON, type error' => ['funnelkit', ['query' => "wpf_action=add&access_key=$k", 'body' => "{\"access_key\":\"$k\",\"contact_id\":[1]}", 'content_type' => 'application/json'], 400];
        yield 'key pasted where a subscriber belongs' => ['kit', ['query' => "wpf_action=add&access_key=$k", 'body' => "{\"subscriber\":\"$k\"}", 'content_type' => 'application/json'], 400];
        yield 'key pasted where custom values belong' => ['fluentcrm', ['query' => "wpf_action=add&access_key=$k", 'body' => "{\"id\":5,\"custom_values\":\"https://example.com/?wpf_action=add&access_key=$k\"}", 'content_type' => 'application/json'], 400];
        yield 'key pasted where tags belong' => ['fluentcrm', ['query' => "wpf_action=add&access_key=$k", 'body' => "{\"id\":5,\"tags\":\"$k\"}", 'content_type' => 'application/json'], 400];
        yield 'wrong key that shares a prefix' => ['keap', ['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . substr($k, 0, 20)], 403];
        yield 'oversized body with the key' => ['keap', ['query' => "wpf_action=add&access_key=$k", 'body' => str_repeat("access_key=$k&", 80000)], 413];
    }

    /**
     * @dataProvider refusalWithTheKeyAroundProvider
     * @param array<string, mixed> $request
     */
    public function testAccessKeyNeverAppearsInAnyMessage(string $crm, array $request, int $status): void
    {
        try {
            self::parse($crm, $request);
            $this->fail('expected a refusal');
        } catch (WebhookException $e) {
            $this->assertSame($status, $e->getCode(), $e->getMessage());
            $this->assertStringNotContainsString(self::KEY, $e->getMessage());
            $this->assertStringNotContainsString(substr(self::KEY, 0, 16), $e->getMessage(), 'not even half of it');
            $this->assertStringNotContainsString(self::KEY, $e->getTraceAsString());
        }
    }

    public function testMessagesEchoAtMostAShortPieceOfThePayload(): void
    {
        // A message goes to logs and to the CRM's webhook history: a short echo, never the payload.
        $payload = str_repeat('private note, ', 20000);
        $long = [];
        foreach ([
            'custom_values' => ['fluentcrm', '{"id":5,"custom_values":' . json_encode($payload) . '}'],
            'subscriber' => ['kit', '{"subscriber":' . json_encode($payload) . '}'],
            'tags' => ['fluentcrm', '{"id":5,"tags":' . json_encode($payload) . '}'],
            'id' => ['fluentcrm', '{"id":' . json_encode($payload) . '}'],
            'email' => ['funnelkit', '{"contact_id":"5","email":' . json_encode($payload) . '}'],
            'role' => ['funnelkit', '{"contact_id":"5","role":' . json_encode($payload) . '}'],
            'wpf_action' => ['funnelkit', '{"contact_id":"5","wpf_action":' . json_encode($payload) . '}'],
        ] as $where => [$crm, $body]) {
            $query = 'access_key=' . self::KEY . ($where === 'wpf_action' ? '' : '&wpf_action=add');
            $e = $this->assertWebhookRefused(fn () => self::postJson($crm, $query, $body), 400, '');
            if (strlen($e->getMessage()) >= 400) {
                $long[] = "$where: " . strlen($e->getMessage()) . ' bytes (' . substr($e->getMessage(), 0, 70) . '…)';
            }
        }
        $this->assertSame([], $long, 'messages that carry the payload');
    }

    // ---- nothing crashes --------------------------------------------------------------------------------------------

    /**
     * Mutations of the realistic fixtures (bytes flipped, cut, repeated, spliced), with a fixed
     * seed so a failure reproduces. Each must end as an array or a 4xx WebhookException: never a
     * crash, never a 500 (a caught panic), never another kind of exception.
     */
    public function testMutatedFixturesNeverCrashOrPanic(): void
    {
        mt_srand(20240514);
        $fixtures = [];
        foreach (glob(CRMHOOK_TEST_FIXTURES . '/*.json') ?: [] as $file) {
            $fixtures[] = json_decode((string) file_get_contents($file), true, 512, JSON_THROW_ON_ERROR);
        }
        $this->assertNotEmpty($fixtures);
        $specials = ["\0", "\xff", "\xc3", '%', '%0', '%FF', '[', ']', '{', '}', '"', '\\', '\u0000', '\ud800', ',', '&', '=', '~', '1e400', '-', "\u{2028}"];
        $outcomes = ['parsed' => 0, 'refused' => 0];
        for ($i = 0; $i < 400; $i++) {
            $fixture = $fixtures[mt_rand(0, count($fixtures) - 1)];
            $request = $fixture['request'];
            $part = mt_rand(0, 3) === 0 ? 'query' : 'body';
            $s = (string) $request[$part];
            for ($m = mt_rand(1, 4); $m > 0; $m--) {
                $at = $s === '' ? 0 : mt_rand(0, strlen($s));
                $s = match (mt_rand(0, 3)) {
                    0 => substr($s, 0, $at) . $specials[mt_rand(0, count($specials) - 1)] . substr($s, $at),
                    1 => substr($s, 0, $at),
                    2 => substr($s, 0, $at) . chr(mt_rand(0, 255)) . substr($s, $at + 1),
                    default => substr($s, 0, $at) . str_repeat(substr($s, $at, 8), mt_rand(2, 50)) . substr($s, $at),
                };
            }
            $request[$part] = $s;
            try {
                crmhook_parse_webhook($request, ['crm' => $fixture['crm'], 'access_key' => self::KEY]);
                $outcomes['parsed']++;
            } catch (WebhookException $e) {
                $this->assertGreaterThanOrEqual(400, $e->getCode(), $e->getMessage());
                $this->assertLessThan(500, $e->getCode(), 'a 500 is a caught panic: ' . $e->getMessage());
                $this->assertTrue(mb_check_encoding($e->getMessage(), 'UTF-8'), 'messages are valid UTF-8');
                $outcomes['refused']++;
            }
        }
        $this->assertGreaterThan(0, $outcomes['parsed'], 'some mutations are harmless');
        $this->assertGreaterThan(0, $outcomes['refused'], 'some mutations are refused');
    }
}
