<?php
/**
 * Every argument of every function, given the wrong type: a \TypeError worded like PHP's own for
 * its internal functions — the function, the argument's number and name, the type it must be and
 * the type given — and, for a value inside an array argument, the key (and item) it sits under.
 * None of these reaches the CRM: each call fails before any request is made.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use TypeError;

final class TypeErrorTest extends ExtensionTestCase
{
    private const CRM = ['crm' => 'kit', 'api_url' => 'http://127.0.0.1:1', 'api_key' => 'k'];

    /** @return iterable<string, array{\Closure, string}> */
    public static function wrongTopLevelProvider(): iterable
    {
        $crm = self::CRM;
        yield 'parse_webhook $request' => [fn () => crmhook_parse_webhook('wpf_action=test', ['crm' => 'keap']),
            'crmhook_parse_webhook(): Argument #1 ($request) must be of type array, string given'];
        yield 'parse_webhook $settings' => [fn () => crmhook_parse_webhook([], null),
            'crmhook_parse_webhook(): Argument #2 ($settings) must be of type array, null given'];
        yield 'verify_access_key $given' => [fn () => crmhook_verify_access_key(null, 'x'),
            'crmhook_verify_access_key(): Argument #1 ($given) must be of type string, null given'];
        yield 'verify_access_key $expected' => [fn () => crmhook_verify_access_key('x', ['x']),
            'crmhook_verify_access_key(): Argument #2 ($expected) must be of type string, array given'];
        yield 'generate_password $length null' => [fn () => crmhook_generate_password(null),
            'crmhook_generate_password(): Argument #1 ($length) must be of type int, null given'];
        yield 'generate_password $length string' => [fn () => crmhook_generate_password('24'),
            'crmhook_generate_password(): Argument #1 ($length) must be of type int, string given'];
        yield 'check_api_url $api_url' => [fn () => crmhook_check_api_url(8080),
            'crmhook_check_api_url(): Argument #1 ($api_url) must be of type string, int given'];
        yield 'map_contact $contact' => [fn () => crmhook_map_contact('ann@example.com', []),
            'crmhook_map_contact(): Argument #1 ($contact) must be of type array, string given'];
        yield 'map_contact $options' => [fn () => crmhook_map_contact([], 'x'),
            'crmhook_map_contact(): Argument #2 ($options) must be of type array, string given'];
        yield 'map_contact $user' => [fn () => crmhook_map_contact([], [], 7),
            'crmhook_map_contact(): Argument #3 ($user) must be of type ?array, int given'];
        yield 'fetch_contact $crm' => [fn () => crmhook_fetch_contact('kit', 1),
            'crmhook_fetch_contact(): Argument #1 ($crm) must be of type array, string given'];
        yield 'fetch_contact $contact_id' => [fn () => crmhook_fetch_contact($crm, true),
            'crmhook_fetch_contact(): Argument #2 ($contact_id) must be of type string|int, bool given'];
        yield 'find_contact $crm' => [fn () => crmhook_find_contact(null, 'a@example.com'),
            'crmhook_find_contact(): Argument #1 ($crm) must be of type array, null given'];
        yield 'find_contact $email' => [fn () => crmhook_find_contact($crm, ['a@example.com']),
            'crmhook_find_contact(): Argument #2 ($email) must be of type string, array given'];
        yield 'update_contact $crm' => [fn () => crmhook_update_contact(1, 1, []),
            'crmhook_update_contact(): Argument #1 ($crm) must be of type array, int given'];
        yield 'update_contact $contact_id' => [fn () => crmhook_update_contact($crm, null, []),
            'crmhook_update_contact(): Argument #2 ($contact_id) must be of type string|int, null given'];
        yield 'update_contact $fields' => [fn () => crmhook_update_contact($crm, 1, 'x=1'),
            'crmhook_update_contact(): Argument #3 ($fields) must be of type array, string given'];
        yield 'list_tags $crm' => [fn () => crmhook_list_tags(new \stdClass()),
            'crmhook_list_tags(): Argument #1 ($crm) must be of type array, stdClass given'];
        yield 'list_fields $crm' => [fn () => crmhook_list_fields(1.5),
            'crmhook_list_fields(): Argument #1 ($crm) must be of type array, float given'];
        yield 'list_contacts_by_tag $crm' => [fn () => crmhook_list_contacts_by_tag('kit', 1),
            'crmhook_list_contacts_by_tag(): Argument #1 ($crm) must be of type array, string given'];
        yield 'list_contacts_by_tag $tag_id' => [fn () => crmhook_list_contacts_by_tag($crm, null),
            'crmhook_list_contacts_by_tag(): Argument #2 ($tag_id) must be of type string|int, null given'];
        yield 'list_contacts_by_tag $cursor' => [fn () => crmhook_list_contacts_by_tag($crm, 1, 2),
            'crmhook_list_contacts_by_tag(): Argument #3 ($cursor) must be of type ?string, int given'];
        yield 'register_webhook $crm' => [fn () => crmhook_register_webhook('kit', 'subscriber.tag_add', 1, 'https://x'),
            'crmhook_register_webhook(): Argument #1 ($crm) must be of type array, string given'];
        yield 'register_webhook $event' => [fn () => crmhook_register_webhook($crm, 5, 1, 'https://x'),
            'crmhook_register_webhook(): Argument #2 ($event) must be of type string, int given'];
        yield 'register_webhook $tag_id' => [fn () => crmhook_register_webhook($crm, 'subscriber.tag_add', [1], 'https://x'),
            'crmhook_register_webhook(): Argument #3 ($tag_id) must be of type string|int, array given'];
        yield 'register_webhook $target_url' => [fn () => crmhook_register_webhook($crm, 'subscriber.tag_add', 1, null),
            'crmhook_register_webhook(): Argument #4 ($target_url) must be of type string, null given'];
        yield 'unregister_webhook $crm' => [fn () => crmhook_unregister_webhook(null, 1),
            'crmhook_unregister_webhook(): Argument #1 ($crm) must be of type array, null given'];
        yield 'unregister_webhook $rule_id' => [fn () => crmhook_unregister_webhook($crm, 1.0),
            'crmhook_unregister_webhook(): Argument #2 ($rule_id) must be of type string|int, float given'];
        yield 'remove_tag $crm' => [fn () => crmhook_remove_tag(false, 1, 2),
            'crmhook_remove_tag(): Argument #1 ($crm) must be of type array, bool given'];
        yield 'remove_tag $contact_id' => [fn () => crmhook_remove_tag($crm, [1], 2),
            'crmhook_remove_tag(): Argument #2 ($contact_id) must be of type string|int, array given'];
        yield 'remove_tag $tag_id' => [fn () => crmhook_remove_tag($crm, 1, null),
            'crmhook_remove_tag(): Argument #3 ($tag_id) must be of type string|int, null given'];
    }

    /** @dataProvider wrongTopLevelProvider */
    public function testEveryArgumentOfTheWrongTypeIsATypeErrorWordedLikePhps(\Closure $call, string $message): void
    {
        $this->assertTypeError($call, $message);
    }

    /** @return iterable<string, array{\Closure, string}> */
    public static function wrongNestedProvider(): iterable
    {
        $ok = ['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . self::KEY];
        $settings = ['crm' => 'keap', 'access_key' => self::KEY];
        yield 'request headers' => [fn () => crmhook_parse_webhook(['headers' => 5] + $ok, $settings),
            'crmhook_parse_webhook(): Argument #1 ($request) key "headers" must be of type ?array, int given'];
        yield 'request form' => [fn () => crmhook_parse_webhook(['form' => 'a=1'] + $ok, $settings),
            'crmhook_parse_webhook(): Argument #1 ($request) key "form" must be of type ?array, string given'];
        yield 'request body' => [fn () => crmhook_parse_webhook(['body' => 1.5] + $ok, $settings),
            'crmhook_parse_webhook(): Argument #1 ($request) key "body" must be of type string, float given'];
        yield 'request method' => [fn () => crmhook_parse_webhook(['method' => ['GET']] + $ok, $settings),
            'crmhook_parse_webhook(): Argument #1 ($request) key "method" must be of type string, array given'];
        yield 'request content_type not UTF-8' => [fn () => crmhook_parse_webhook(['content_type' => "text/plain\xff"] + $ok, $settings),
            'crmhook_parse_webhook(): Argument #1 ($request) key "content_type" must be valid UTF-8'];
        yield 'settings crm' => [fn () => crmhook_parse_webhook($ok, ['crm' => ['keap']] + $settings),
            'crmhook_parse_webhook(): Argument #2 ($settings) key "crm" must be of type string, array given'];
        yield 'settings max_body_bytes' => [fn () => crmhook_parse_webhook($ok, ['max_body_bytes' => '1000'] + $settings),
            'crmhook_parse_webhook(): Argument #2 ($settings) key "max_body_bytes" must be of type int, string given'];
        yield 'contact fields' => [fn () => crmhook_map_contact(['fields' => 'x'], []),
            'crmhook_map_contact(): Argument #1 ($contact) key "fields" must be of type array, string given'];
        yield 'contact tags item' => [fn () => crmhook_map_contact(['email' => 'a@example.com', 'tags' => ['VIP', ['x']]], []),
            'crmhook_map_contact(): Argument #1 ($contact) key "tags" item 1 must be of type string, array given'];
        yield 'options field_map item' => [fn () => crmhook_map_contact([], ['field_map' => ['4' => new \stdClass()]]),
            'crmhook_map_contact(): Argument #2 ($options) key "field_map" item "4" must be of type string, stdClass given'];
        yield 'options roles item' => [fn () => crmhook_map_contact([], ['roles' => ['subscriber' => 'read']]),
            'crmhook_map_contact(): Argument #2 ($options) key "roles" item "subscriber" must be of type array, string given'];
        yield 'options allowed_roles' => [fn () => crmhook_map_contact([], ['allowed_roles' => 'customer']),
            'crmhook_map_contact(): Argument #2 ($options) key "allowed_roles" must be of type array, string given'];
        yield 'user roles item' => [fn () => crmhook_map_contact(['email' => 'a@example.com'], [], ['ID' => 3, 'roles' => [null, 1.5, []]]),
            'crmhook_map_contact(): Argument #3 ($user) key "roles" item 2 must be of type string, array given'];
        yield 'crm api_key' => [fn () => crmhook_fetch_contact(['api_key' => []] + self::CRM, 1),
            'crmhook_fetch_contact(): Argument #1 ($crm) key "api_key" must be of type string, array given'];
        yield 'fields item' => [fn () => crmhook_update_contact(self::CRM, 1, ['15' => ['secret']]),
            'crmhook_update_contact(): Argument #3 ($fields) key "15" must be of type string, array given'];
    }

    /** @dataProvider wrongNestedProvider */
    public function testAWrongValueInsideAnArrayNamesTheArgumentAndTheKey(\Closure $call, string $message): void
    {
        $this->assertTypeError($call, $message);
    }

    public function testTheRightTypesStillWork(): void
    {
        $this->assertSame(24, strlen(crmhook_generate_password()));
        $this->assertSame(12, strlen(crmhook_generate_password(12)));
        $this->assertTrue(crmhook_verify_access_key("a\0b", "a\0b"), 'a binary string is a string');
        $plan = crmhook_map_contact(['email' => 'a@example.com'], [], null);
        $this->assertSame('create', $plan['op']);
    }

    private function assertTypeError(\Closure $call, string $message): void
    {
        try {
            $call();
        } catch (TypeError $e) {
            $this->assertSame($message, $e->getMessage());
            $this->assertSame(0, $e->getCode());
            return;
        }
        $this->fail("expected a TypeError: $message");
    }
}
