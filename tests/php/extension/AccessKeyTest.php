<?php
/**
 * The access key: where a request may carry it, that it is checked before anything else, that
 * an unconfigured site refuses everything, and the key and password generators.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use ValueError;

final class AccessKeyTest extends ExtensionTestCase
{
    // ---- where the key may come from ------------------------------------------------------------

    public function testKeyInTheQueryString(): void
    {
        $this->assertSame('test', self::get('keap', 'wpf_action=test&access_key=' . self::KEY)['action']);
    }

    public function testKeyInAFormBody(): void
    {
        $hook = self::postForm('keap', '', 'wpf_action=test&access_key=' . self::KEY);
        $this->assertSame('test', $hook['action']);
    }

    public function testKeyInAJsonBody(): void
    {
        $hook = self::postJson('funnelkit', '', (string) json_encode(['wpf_action' => 'test', 'access_key' => self::KEY]));
        $this->assertSame('test', $hook['action']);
    }

    public function testKeyInAMultipartForm(): void
    {
        $hook = self::parse('keap', [
            'content_type' => 'multipart/form-data; boundary=b',
            'form' => ['wpf_action' => 'add', 'access_key' => self::KEY, 'contactId' => '9'],
        ]);
        $this->assertSame('9', $hook['contact_id']);
    }

    /** @return iterable<string, array{string}> */
    public static function headerNameProvider(): iterable
    {
        foreach (['x-crmhook-key', 'X-Crmhook-Key', 'X-CRMHOOK-KEY', 'x-CrmHook-kEy'] as $name) {
            yield $name => [$name];
        }
    }

    /** @dataProvider headerNameProvider */
    public function testKeyInTheHeaderWhateverTheCaseOfItsName(string $name): void
    {
        $hook = self::parse('keap', ['method' => 'GET', 'query' => 'wpf_action=test', 'headers' => [$name => self::KEY]]);
        $this->assertSame('test', $hook['action']);
    }

    public function testAnEmptyHeaderNeverShadowsTheKeyInTheUrl(): void
    {
        $hook = self::parse('keap', ['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . self::KEY, 'headers' => ['x-crmhook-key' => '']]);
        $this->assertSame('test', $hook['action']);
    }

    /**
     * The README's PHP example, run as a reader would copy it: a CRM request with the key in the
     * URL and no header. Only its CRM host is swapped for one that answers at once (nothing
     * listens on port 1 here), so the example's own catch handles the CRM call.
     */
    public function testTheReadmeExampleWorksWhenCopied(): void
    {
        $readme = (string) file_get_contents(dirname(__DIR__, 3) . '/README.md');
        $this->assertSame(1, preg_match('/## The PHP API.*?```php\n(.*?)```/s', $readme, $m), 'the README has its PHP example');
        $code = str_replace('https://acme.api-us1.com', 'http://127.0.0.1:1', $m[1]);
        $server = $_SERVER;
        $_SERVER = ['REQUEST_METHOD' => 'GET', 'QUERY_STRING' => 'wpf_action=update&contact_id=42&access_key=' . self::KEY] + $_SERVER;
        unset($_SERVER['HTTP_X_CRMHOOK_KEY'], $_SERVER['CONTENT_TYPE']);
        $key = self::KEY;
        $api_key = 'ac-key';
        $roles = ['subscriber' => ['read' => true]];
        try {
            ini_set('crmhook.http_timeout', '2');
            eval($code);
        } finally {
            $_SERVER = $server;
        }
        $this->assertSame('update', $hook['action'] ?? null, 'the example parsed the webhook');
        $this->assertSame('42', $hook['contact_id']);
    }

    public function testHeaderGivenAsAListUsesItsFirstValue(): void
    {
        $hook = self::parse('keap', ['method' => 'GET', 'query' => 'wpf_action=test', 'headers' => ['x-crmhook-key' => [self::KEY]]]);
        $this->assertSame('test', $hook['action']);
    }

    public function testOtherHeadersDoNotCarryTheKey(): void
    {
        $this->assertWebhookRefused(
            fn () => self::parse('keap', [
                'method' => 'GET', 'query' => 'wpf_action=test',
                'headers' => ['authorization' => self::KEY, 'x-access-key' => self::KEY, 'access_key' => self::KEY],
            ]),
            403,
            'access key',
        );
    }

    /** @return iterable<string, array{array<string, mixed>}> */
    public static function wrongKeyProvider(): iterable
    {
        $wrong = 'Fx7Qm2Lp9Rt4Wv6Yz8Bc1Dg3Hj5Kn0Pt'; // the right key with its last byte changed
        yield 'no key at all' => [['method' => 'GET', 'query' => 'wpf_action=test']];
        yield 'empty key' => [['method' => 'GET', 'query' => 'wpf_action=test&access_key=']];
        yield 'wrong query key' => [['method' => 'GET', 'query' => "wpf_action=test&access_key=$wrong"]];
        yield 'prefix of the key' => [['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . substr(self::KEY, 0, 31)]];
        yield 'key plus a byte' => [['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . self::KEY . 'x']];
        yield 'key in other case' => [['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . strtolower(self::KEY)]];
        yield 'key with a NUL after it' => [['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . self::KEY . '%00']];
        yield 'wrong header key' => [['method' => 'GET', 'query' => 'wpf_action=test', 'headers' => ['X-Crmhook-Key' => $wrong]]];
        yield 'wrong form key' => [['query' => '', 'body' => "wpf_action=test&access_key=$wrong", 'content_type' => 'application/x-www-form-urlencoded']];
        yield 'wrong JSON key' => [['query' => '', 'body' => "{\"wpf_action\":\"test\",\"access_key\":\"$wrong\"}", 'content_type' => 'application/json']];
        yield 'JSON key as a list' => [['query' => '', 'body' => '{"wpf_action":"test","access_key":["' . self::KEY . '"]}', 'content_type' => 'application/json']];
        yield 'wrong multipart key' => [['query' => '', 'content_type' => 'multipart/form-data', 'form' => ['wpf_action' => 'test', 'access_key' => $wrong]]];
        yield 'key named differently' => [['method' => 'GET', 'query' => 'wpf_action=test&accesskey=' . self::KEY . '&key=' . self::KEY]];
    }

    /**
     * @dataProvider wrongKeyProvider
     * @param array<string, mixed> $request
     */
    public function testWrongOrMissingKeyIs403(array $request): void
    {
        $this->assertWebhookRefused(fn () => self::parse('keap', $request), 403, 'wrong or missing access key');
    }

    // ---- the key is checked first ----------------------------------------------------------------

    /** @return iterable<string, array{string, string, string}> */
    public static function brokenBodyProvider(): iterable
    {
        yield 'broken JSON' => ['fluentcrm', 'application/json', '{broken'];
        yield 'JSON list' => ['fluentcrm', 'application/json', '[1,2]'];
        yield 'duplicate JSON keys' => ['fluentcrm', 'application/json', '{"id":1,"id":2}'];
        yield 'JSON nested 100,000 deep' => ['fluentcrm', 'application/json', '{"x":' . str_repeat('[', 100000)];
        yield 'invalid UTF-8 in JSON' => ['convertkit', 'application/json', "{\"subscriber\":{\"id\":\"1\xff\"}}"];
        yield 'invalid UTF-8 in a form' => ['keap', 'application/x-www-form-urlencoded', 'contactId=1&FirstName=%FF'];
    }

    /** @dataProvider brokenBodyProvider */
    public function testWrongKeyWithABrokenBodyIs403Not400(string $crm, string $contentType, string $body): void
    {
        $request = ['query' => 'wpf_action=add&access_key=not-the-key', 'body' => $body, 'content_type' => $contentType];
        $this->assertWebhookRefused(fn () => self::parse($crm, $request), 403, 'access key');
        // Same request with the right key: now the body's fault is reported.
        $request['query'] = self::query('add');
        $this->assertWebhookRefused(fn () => self::parse($crm, $request), 400, 'malformed');
    }

    public function testWrongKeyWithAnUnknownActionIs403(): void
    {
        $this->assertWebhookRefused(fn () => self::get('keap', 'wpf_action=delete_everything&access_key=nope'), 403, 'access key');
        $this->assertWebhookRefused(fn () => self::get('keap', 'access_key=nope'), 403, 'access key');
    }

    // ---- a site without a key refuses everything ---------------------------------------------------

    /** @return iterable<string, array{mixed}> */
    public static function unconfiguredKeyProvider(): iterable
    {
        yield 'empty string' => [''];
        yield 'blanks' => ['   '];
        yield 'null' => [null];
    }

    /** @dataProvider unconfiguredKeyProvider */
    public function testEmptyConfiguredKeyRejectsEverything(?string $configured): void
    {
        $settings = ['crm' => 'keap', 'access_key' => $configured];
        $requests = [
            ['method' => 'GET', 'query' => 'wpf_action=test&access_key='],
            ['method' => 'GET', 'query' => 'wpf_action=test'],
            ['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . rawurlencode((string) $configured)],
            ['method' => 'GET', 'query' => 'wpf_action=test', 'headers' => ['x-crmhook-key' => '']],
            ['method' => 'GET', 'query' => 'wpf_action=test&access_key=' . self::KEY],
        ];
        foreach ($requests as $request) {
            $this->assertWebhookRefused(fn () => crmhook_parse_webhook($request, $settings), 403, 'no access key configured');
        }
    }

    public function testMissingConfiguredKeyRejectsEverything(): void
    {
        $this->assertWebhookRefused(
            fn () => crmhook_parse_webhook(['method' => 'GET', 'query' => 'wpf_action=test&access_key='], ['crm' => 'keap']),
            403,
            'no access key configured',
        );
    }

    // ---- crmhook_verify_access_key ---------------------------------------------------------------------

    public function testVerifyAcceptsTheSameKey(): void
    {
        $this->assertTrue(crmhook_verify_access_key(self::KEY, self::KEY));
        $this->assertTrue(crmhook_verify_access_key('x', 'x'));
    }

    /** @return iterable<string, array{string, string}> */
    public static function mismatchProvider(): iterable
    {
        yield 'last byte differs' => ['secret-key-1', 'secret-key-2'];
        yield 'first byte differs' => ['Xecret', 'secret'];
        yield 'case differs' => ['SECRET', 'secret'];
        yield 'given is a prefix' => ['secre', 'secret'];
        yield 'given is longer' => ['secret2', 'secret'];
        yield 'given has a trailing NUL' => ["secret\0", 'secret'];
        yield 'differs after a NUL' => ["abc\0def", "abc\0xyz"];
        yield 'NUL against empty tail' => ["abc\0", 'abc'];
        yield 'binary differs in the high bit' => ["\xff\xfe\x00\x01", "\x7f\xfe\x00\x01"];
        yield 'trailing space' => ['secret ', 'secret'];
    }

    /** @dataProvider mismatchProvider */
    public function testVerifyRejectsAnyDifference(string $given, string $expected): void
    {
        $this->assertFalse(crmhook_verify_access_key($given, $expected));
        $this->assertFalse(crmhook_verify_access_key($expected, $given));
    }

    public function testVerifyComparesBinaryStringsWhole(): void
    {
        // Not C strings: everything after a NUL counts, and invalid UTF-8 is just bytes.
        $this->assertTrue(crmhook_verify_access_key("abc\0def", "abc\0def"));
        $this->assertTrue(crmhook_verify_access_key("\xff\xfe\xfd\x00\x80", "\xff\xfe\xfd\x00\x80"));
        $bytes = implode('', array_map('chr', range(0, 255)));
        $this->assertTrue(crmhook_verify_access_key($bytes, $bytes));
        $this->assertFalse(crmhook_verify_access_key($bytes, substr($bytes, 0, 255) . "\x00"));
    }

    public function testVerifyIsFalseWhenEitherSideIsEmpty(): void
    {
        $this->assertFalse(crmhook_verify_access_key('', ''));
        $this->assertFalse(crmhook_verify_access_key('', self::KEY));
        $this->assertFalse(crmhook_verify_access_key(self::KEY, ''));
    }

    public function testVerifyAgreesWithHashEqualsOnLongKeys(): void
    {
        $a = str_repeat('k', 10000);
        $this->assertTrue(crmhook_verify_access_key($a, $a));
        $this->assertFalse(crmhook_verify_access_key($a, substr($a, 0, -1) . 'j'));
    }

    public function testVerifyRefusesNonStringsUnderStrictTypes(): void
    {
        $this->expectException(\TypeError::class);
        crmhook_verify_access_key(null, 'x');
    }

    // ---- crmhook_generate_access_key ---------------------------------------------------------------------

    public function testGeneratedAccessKeyIs32LettersAndDigits(): void
    {
        $key = crmhook_generate_access_key();
        $this->assertMatchesRegularExpression('/\A[A-Za-z0-9]{32}\z/', $key);
        $this->assertSame($key, rawurlencode($key), 'URL-safe without encoding');
    }

    public function testGeneratedAccessKeysAreDistinctAndUseTheWholeAlphabet(): void
    {
        // 32 characters of 62 is 190 bits, if every character can occur. Over 60 keys (1,920
        // characters) a character that can occur is missing with probability (61/62)^1920 ≈ 3e-14.
        $keys = [];
        for ($i = 0; $i < 60; $i++) {
            $keys[] = crmhook_generate_access_key();
        }
        $this->assertCount(60, array_unique($keys), 'every key is new');
        $alphabet = count_chars(implode('', $keys), 3);
        $this->assertSame(62, strlen($alphabet), 'all 62 letters and digits occur, so 32 chars carry ≥ 128 bits');
        $this->assertGreaterThanOrEqual(128, 32 * log(strlen($alphabet), 2));
    }

    public function testGeneratedAccessKeyIsAcceptedAsTheSitesKey(): void
    {
        $key = crmhook_generate_access_key();
        $hook = crmhook_parse_webhook(['method' => 'GET', 'query' => "wpf_action=test&access_key=$key"], ['crm' => 'kit', 'access_key' => $key]);
        $this->assertSame('test', $hook['action']);
        $this->assertTrue(crmhook_verify_access_key($key, $key));
    }

    // ---- crmhook_generate_password -------------------------------------------------------------------------

    public function testGeneratedPasswordIs24CharactersByDefault(): void
    {
        $this->assertMatchesRegularExpression('/\A[A-Za-z0-9]{24}\z/', crmhook_generate_password());
    }

    /** @return iterable<string, array{int}> */
    public static function validLengthProvider(): iterable
    {
        foreach ([8, 9, 24, 64, 255, 256] as $n) {
            yield "$n" => [$n];
        }
    }

    /** @dataProvider validLengthProvider */
    public function testGeneratedPasswordHasTheLengthAsked(int $length): void
    {
        $password = crmhook_generate_password($length);
        $this->assertSame($length, strlen($password));
        $this->assertMatchesRegularExpression('/\A[A-Za-z0-9]+\z/', $password, 'letters and digits only: CRM merge fields break on punctuation');
    }

    /** @return iterable<string, array{int}> */
    public static function invalidLengthProvider(): iterable
    {
        foreach ([7, 0, -1, 257, 1000, PHP_INT_MAX, PHP_INT_MIN] as $n) {
            yield "$n" => [$n];
        }
    }

    /** @dataProvider invalidLengthProvider */
    public function testPasswordLengthOutside8To256IsAValueError(int $length): void
    {
        $e = $this->assertRefused(fn () => crmhook_generate_password($length), ValueError::class, 0, 'between 8 and 256');
        $this->assertStringContainsString((string) $length, $e->getMessage());
    }

    public function testEveryGeneratedPasswordHasUpperLowerAndDigit(): void
    {
        // At length 8 a random draw lacks a digit about one time in four: only the guarantee
        // makes all 300 pass.
        for ($i = 0; $i < 300; $i++) {
            $p = crmhook_generate_password(8);
            $this->assertMatchesRegularExpression('/[A-Z]/', $p, $p);
            $this->assertMatchesRegularExpression('/[a-z]/', $p, $p);
            $this->assertMatchesRegularExpression('/[0-9]/', $p, $p);
        }
    }

    public function testGeneratedPasswordsAreDistinct(): void
    {
        $passwords = [];
        for ($i = 0; $i < 50; $i++) {
            $passwords[] = crmhook_generate_password();
        }
        $this->assertCount(50, array_unique($passwords));
    }
}
