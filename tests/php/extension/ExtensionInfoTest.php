<?php
/**
 * What a site owner and a packager see: `php --ri crmhook` (version, git revision, the PHP it
 * was built for, the INI settings), `php --re crmhook` (every function with its types), and the
 * INI settings in-process.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use ReflectionExtension;
use ReflectionFunction;

final class ExtensionInfoTest extends ExtensionTestCase
{
    /** The PHP API (docs/php-api.md), as `php --re` prints parameters. */
    private const API = [
        'crmhook_parse_webhook' => [['<required> array $request', '<required> array $settings'], 'array'],
        'crmhook_verify_access_key' => [['<required> string $given', '<required> string $expected'], 'bool'],
        'crmhook_generate_access_key' => [[], 'string'],
        'crmhook_generate_password' => [['<optional> int $length = 24'], 'string'],
        'crmhook_map_contact' => [['<required> array $contact', '<required> array $options', '<optional> ?array $user = null'], 'array'],
        'crmhook_privileged_capabilities' => [[], 'array'],
        'crmhook_check_api_url' => [['<required> string $api_url'], 'void'],
        'crmhook_crms' => [[], 'array'],
        'crmhook_username_formats' => [[], 'array'],
        'crmhook_fetch_contact' => [['<required> array $crm', '<required> mixed $contact_id'], 'array'],
        'crmhook_find_contact' => [['<required> array $crm', '<required> string $email'], '?string'],
        'crmhook_update_contact' => [['<required> array $crm', '<required> mixed $contact_id', '<required> array $fields'], 'void'],
        'crmhook_list_tags' => [['<required> array $crm'], 'array'],
        'crmhook_list_fields' => [['<required> array $crm'], '?array'],
        'crmhook_list_contacts_by_tag' => [['<required> array $crm', '<required> mixed $tag_id', '<optional> ?string $cursor = null'], 'array'],
        'crmhook_register_webhook' => [['<required> array $crm', '<required> string $event', '<required> mixed $tag_id', '<required> string $target_url'], 'string'],
        'crmhook_unregister_webhook' => [['<required> array $crm', '<required> mixed $rule_id'], 'void'],
        'crmhook_remove_tag' => [['<required> array $crm', '<required> mixed $contact_id', '<required> mixed $tag_id'], 'void'],
        'crmhook_lane_status' => [[], 'array'],
        'crmhook_lane_memo' => [[], '?string'],
        'crmhook_lane_remember' => [['<required> string $memo'], 'bool'],
    ];

    /**
     * Runs a second PHP with only the extension under test loaded (`-n`: no php.ini, so it is
     * not loaded twice), without a shell.
     *
     * @param list<string> $args
     * @return array{int, string, string} exit code, stdout, stderr
     */
    private static function php(array $args): array
    {
        $command = array_merge([PHP_BINARY, '-n', '-d', 'extension=' . CRMHOOK_TEST_SO], $args);
        $process = proc_open($command, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
        self::assertIsResource($process, 'cannot start ' . PHP_BINARY);
        fclose($pipes[0]);
        $stdout = (string) stream_get_contents($pipes[1]);
        $stderr = (string) stream_get_contents($pipes[2]);
        fclose($pipes[1]);
        fclose($pipes[2]);
        return [proc_close($process), $stdout, $stderr];
    }

    /** `php --ri crmhook` as name → value lines (the INI rows as name → "local => master"). */
    private static function ri(string ...$extraArgs): array
    {
        [$code, $out, $err] = self::php([...$extraArgs, '--ri', 'crmhook']);
        self::assertSame(0, $code, "php --ri crmhook failed: $err$out");
        self::assertSame('', $err, 'php --ri crmhook wrote to stderr');
        $rows = [];
        foreach (explode("\n", $out) as $line) {
            $cells = explode(' => ', trim($line), 2);
            if (count($cells) === 2) {
                $rows[$cells[0]] = $cells[1];
            }
        }
        return $rows;
    }

    private static function cargoVersion(): string
    {
        $toml = (string) file_get_contents(CRMHOOK_TEST_ROOT . '/Cargo.toml');
        self::assertMatchesRegularExpression('/^version\s*=\s*"([^"]+)"/m', $toml);
        preg_match('/^version\s*=\s*"([^"]+)"/m', $toml, $m);
        return $m[1];
    }

    public function testTheSharedObjectUnderTestExists(): void
    {
        $this->assertFileExists(CRMHOOK_TEST_SO, 'build it with cargo build --release, or point CRMHOOK_SO at it');
    }

    public function testRiShowsVersionRevisionAndThePhpItWasBuiltFor(): void
    {
        $ri = self::ri();
        $this->assertSame('enabled', $ri['crmhook support'] ?? null);
        $this->assertSame(self::cargoVersion(), $ri['version'] ?? null, 'the version is Cargo.toml\'s');
        $this->assertSame(phpversion('crmhook'), $ri['version'], 'the .so under test is the one loaded in this PHP');
        $this->assertMatchesRegularExpression('/\A[0-9a-f]{12}\z/', $ri['git revision'] ?? '', 'a real git revision, not "unknown"');
        $this->assertSame(PHP_VERSION, $ri['built for PHP'] ?? null);

        [, $info] = self::php(['-i']);
        $this->assertMatchesRegularExpression('/^PHP API => (\d+)$/m', $info);
        preg_match('/^PHP API => (\d+)$/m', $info, $m);
        $this->assertSame($m[1], $ri['PHP API'] ?? null, 'built against the API of this PHP');
    }

    public function testRiRevisionMatchesTheLoadedExtension(): void
    {
        ob_start();
        (new ReflectionExtension('crmhook'))->info();
        $inProcess = (string) ob_get_clean();
        $this->assertMatchesRegularExpression('/^git revision => ([0-9a-f]{12})$/m', $inProcess);
        preg_match('/^git revision => ([0-9a-f]{12})$/m', $inProcess, $m);
        $this->assertSame($m[1], self::ri()['git revision']);
    }

    public function testRiShowsTheIniSettingsWithTheirDefaults(): void
    {
        $ri = self::ri();
        $this->assertSame('1048576 => 1048576', $ri['crmhook.max_body_bytes'] ?? null);
        $this->assertSame('4 => 4', $ri['crmhook.http_timeout'] ?? null, 'within ActiveCampaign\'s 5 s deadline');
        $this->assertSame('600 => 600', $ri['crmhook.tag_cache_ttl'] ?? null);
    }

    public function testRiShowsIniSettingsAsConfigured(): void
    {
        $ri = self::ri('-d', 'crmhook.max_body_bytes=2048', '-d', 'crmhook.http_timeout=3');
        $this->assertSame('2048 => 2048', $ri['crmhook.max_body_bytes'] ?? null);
        $this->assertSame('3 => 3', $ri['crmhook.http_timeout'] ?? null);
    }

    public function testRiShowsARuntimeChangeAsLocalValue(): void
    {
        ini_set('crmhook.max_body_bytes', '4096');
        ob_start();
        (new ReflectionExtension('crmhook'))->info();
        $info = (string) ob_get_clean();
        $this->assertMatchesRegularExpression('/^crmhook\.max_body_bytes => 4096 => 1048576$/m', $info);
    }

    public function testReListsEveryFunctionWithItsTypes(): void
    {
        [$code, $re, $err] = self::php(['--re', 'crmhook']);
        $this->assertSame(0, $code, $err);
        foreach (self::API as $name => [$params, $return]) {
            $start = strpos($re, "Function [ <internal:crmhook> function $name ]");
            $this->assertNotFalse($start, "php --re does not list $name");
            $end = strpos($re, 'Function [', $start + 10);
            $block = substr($re, $start, $end === false ? null : $end - $start);
            $this->assertStringContainsString('- Parameters [' . count($params) . ']', $block, $name);
            foreach ($params as $i => $param) {
                $this->assertStringContainsString("Parameter #$i [ $param ]", $block, $name);
            }
            $this->assertStringContainsString("- Return [ $return ]", $block, $name);
        }
        $this->assertSame(count(self::API), substr_count($re, 'Function [ <internal:crmhook> function '), 'no function beyond the API');
        $this->assertStringContainsString('Entry [ crmhook.max_body_bytes <ALL> ]', $re);
        $this->assertStringContainsString('Entry [ crmhook.http_timeout <ALL> ]', $re);
        $this->assertStringContainsString('class CrmHook\WebhookException extends RuntimeException', $re);
        $this->assertStringContainsString('class CrmHook\CrmException extends RuntimeException', $re);
    }

    public function testReflectionInProcessAgreesWithTheApi(): void
    {
        $functions = (new ReflectionExtension('crmhook'))->getFunctions();
        $this->assertEqualsCanonicalizing(array_keys(self::API), array_keys($functions));
        foreach (self::API as $name => [$params, $return]) {
            $f = new ReflectionFunction($name);
            $this->assertSame($return, (string) $f->getReturnType(), "$name return type");
            $this->assertSame(count($params), $f->getNumberOfParameters(), $name);
            $this->assertSame(count(array_filter($params, static fn ($p) => str_starts_with($p, '<required>'))), $f->getNumberOfRequiredParameters(), $name);
            foreach ($f->getParameters() as $i => $p) {
                // '<required> array $request' → type 'array', name 'request'
                [, $type, $var] = explode(' ', $params[$i]);
                $this->assertSame($type, (string) $p->getType(), "$name \$" . $p->getName());
                $this->assertSame('$' . $p->getName(), $var, "$name parameter $i");
            }
        }
    }

    public function testIniSettingsAreRegisteredAndChangeableAtRuntime(): void
    {
        $ini = ini_get_all('crmhook');
        $this->assertSame('1048576', $ini['crmhook.max_body_bytes']['global_value']);
        $this->assertSame('4', $ini['crmhook.http_timeout']['global_value']);
        $this->assertSame('600', $ini['crmhook.tag_cache_ttl']['global_value']);
        $this->assertSame('600', ini_set('crmhook.tag_cache_ttl', '0'), 'zero turns the tag cache off');
        $this->assertFalse(ini_set('crmhook.tag_cache_ttl', '-1'));
        $this->assertSame(INI_ALL, $ini['crmhook.max_body_bytes']['access']);
        $this->assertSame(INI_ALL, $ini['crmhook.http_timeout']['access']);
        $this->assertSame('1048576', ini_set('crmhook.max_body_bytes', '2048'));
        $this->assertSame('2048', ini_get('crmhook.max_body_bytes'));
        $this->assertSame('1048576', ini_get_all('crmhook')['crmhook.max_body_bytes']['global_value'], 'the master value stays');
    }

    /**
     * ini_restore() must bring back the configured value, as for PHP's own settings. Found by
     * this suite: it silently does nothing for crmhook's settings, because they are registered
     * without an on_modify handler and PHP's runtime restore treats that as a refusal.
     */
    public function testIniRestoreBringsBackTheConfiguredValue(): void
    {
        foreach (['crmhook.max_body_bytes' => '2048', 'crmhook.http_timeout' => '3', 'crmhook.tag_cache_ttl' => '5'] as $name => $value) {
            $configured = ini_get($name);
            ini_set($name, $value);
            ini_restore($name);
            $this->assertSame($configured, ini_get($name), "ini_restore('$name')");
        }
    }
}
