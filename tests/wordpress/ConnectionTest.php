<?php
/**
 * The Connection settings on a real WordPress: Test connection (admin-ajax) tests what is typed
 * on the form and stores nothing; saving never keeps one CRM's secret for another CRM or URL.
 * Needs the CRM emulator (EMULATOR_URL).
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

/** Thrown by the ajax die handler: what wp_die() was called with. */
final class ConnectionTestDie extends \RuntimeException
{
}

final class ConnectionTest extends TestCase
{
    private static string $emulator;

    /** @var array<string, array<string, string>> */
    private static array $credentials;

    /** @var array<string, mixed> The settings before each test, put back after it. */
    private array $before;

    public static function setUpBeforeClass(): void
    {
        self::$emulator = getenv('EMULATOR_URL') ?: 'http://127.0.0.1:8790';
        self::$credentials = json_decode((string) file_get_contents(dirname(__DIR__) . '/fixtures/crm/seed.json'), true)['credentials'];
        require_once ABSPATH . 'wp-admin/includes/admin.php';
    }

    protected function setUp(): void
    {
        global $wp_settings_errors;
        $wp_settings_errors = array();
        $this->before = CrmHook_Settings::all();
        wp_set_current_user(1);
        $this->emulator('POST', '/_emulator/reset');
    }

    protected function tearDown(): void
    {
        update_option(CrmHook_Settings::OPTION, $this->before);
        $this->emulator('POST', '/_emulator/reset');
        $_POST = $_REQUEST = [];
    }

    /** @return mixed The emulator's JSON answer. */
    private function emulator(string $method, string $path, ?array $body = null)
    {
        $answer = wp_remote_request(self::$emulator . $path, ['method' => $method, 'body' => $body === null ? null : wp_json_encode($body), 'headers' => ['Content-Type' => 'application/json'], 'timeout' => 30]);
        $this->assertSame(200, wp_remote_retrieve_response_code($answer), "emulator $method $path");
        return json_decode((string) wp_remote_retrieve_body($answer), true);
    }

    /** @return list<array<string, mixed>> Every API call the emulator received since the reset. */
    private function calls(): array
    {
        return $this->emulator('GET', '/_emulator/calls');
    }

    /** Saves a CRM pointed at the emulator, with its seed credentials. */
    private function save(string $crm, array $extra = []): void
    {
        CrmHook_Settings::update(array_merge(
            ['crm' => $crm, 'api_url' => self::$emulator . "/$crm", 'api_key' => '', 'api_secret' => '', 'username' => '', 'password' => '', 'return_password_field' => ''],
            self::$credentials[$crm],
            $extra
        ));
    }

    /** The option row as stored, to prove a test left it alone. */
    private function stored(): string
    {
        global $wpdb;
        wp_cache_delete('alloptions', 'options');
        return (string) $wpdb->get_var($wpdb->prepare("SELECT option_value FROM {$wpdb->options} WHERE option_name = %s", CrmHook_Settings::OPTION));
    }

    /**
     * Calls the admin-ajax handler as admin-ajax.php does, catching its wp_die().
     *
     * @param array<string, string> $post The form values the page sends.
     * @return array{json: mixed, body: string, die: string, status: int}
     */
    private function ajax(array $post, ?string $nonce = null): array
    {
        $_POST = $_REQUEST = wp_slash($post + ['action' => CrmHook_Connection::ACTION, '_ajax_nonce' => $nonce ?? wp_create_nonce(CrmHook_Connection::ACTION)]);
        $handler = static fn () => static function ($message, $title = '', $args = []): void {
            throw new ConnectionTestDie((string) (is_scalar($message) ? $message : ''), (int) ($args['response'] ?? 0));
        };
        add_filter('wp_doing_ajax', '__return_true');
        add_filter('wp_die_ajax_handler', $handler);
        $level = ob_get_level();
        ob_start();
        try {
            CrmHook_Connection::ajax_test();
            $this->fail('the handler always answers through wp_die()');
        } catch (ConnectionTestDie $die) {
            $body = (string) ob_get_clean();
            return ['json' => json_decode($body, true), 'body' => $body, 'die' => $die->getMessage(), 'status' => $die->getCode()];
        } finally {
            while (ob_get_level() > $level) {
                ob_end_clean();
            }
            remove_filter('wp_doing_ajax', '__return_true');
            remove_filter('wp_die_ajax_handler', $handler);
        }
    }

    public function testTheTypedCrmAndKeyAreTestedNotTheSavedOnes(): void
    {
        $this->save('activecampaign');
        $stored = $this->stored();
        $answer = $this->ajax(['crm' => 'keap', 'api_url' => self::$emulator . '/keap', 'api_key' => self::$credentials['keap']['api_key']]);
        $this->assertTrue($answer['json']['success'], $answer['body']);
        $this->assertMatchesRegularExpression('/^Connected to Infusionsoft \/ Keap: \d+ tags? found\.$/', $answer['json']['data']['message']);
        $this->assertSame('keap', $answer['json']['data']['crm']);
        $calls = $this->calls();
        $this->assertNotEmpty($calls);
        foreach ($calls as $call) {
            $this->assertSame('keap', $call['crm'], 'only the typed CRM was called');
            $this->assertTrue($call['authorized'], 'with the typed key');
        }
        $this->assertSame($stored, $this->stored(), 'nothing was saved');

        $this->save('keap');
        $answer = $this->ajax(['crm' => 'activecampaign', 'api_url' => self::$emulator . '/activecampaign', 'api_key' => self::$credentials['activecampaign']['api_key']]);
        $this->assertTrue($answer['json']['success'], $answer['body']);
        $this->assertStringStartsWith('Connected to ActiveCampaign: ', $answer['json']['data']['message']);
    }

    public function testAnEmptySecretUsesTheSavedOneForTheSavedCrmAndUrlOnly(): void
    {
        $this->save('activecampaign');
        $same = $this->ajax(['crm' => 'activecampaign', 'api_url' => self::$emulator . '/activecampaign/', 'api_key' => '']);
        $this->assertTrue($same['json']['success'], 'same CRM and URL (a trailing slash is the same URL): ' . $same['body']);
        $this->emulator('POST', '/_emulator/reset');

        // Another URL (here the emulator's Kit), or another CRM at the saved URL: the saved key
        // would reach a place it was never saved for. Nothing is sent at all.
        $elsewhere = $this->ajax(['crm' => 'activecampaign', 'api_url' => self::$emulator . '/kit', 'api_key' => '']);
        $this->assertFalse($elsewhere['json']['success']);
        $this->assertStringContainsString('ActiveCampaign needs its API key', $elsewhere['json']['data']['message']);
        $otherCrm = $this->ajax(['crm' => 'keap', 'api_url' => self::$emulator . '/activecampaign', 'api_key' => '']);
        $this->assertFalse($otherCrm['json']['success']);
        $this->assertStringContainsString('Keap needs its API key', $otherCrm['json']['data']['message']);
        $fluent = $this->ajax(['crm' => 'fluentcrm', 'api_url' => self::$emulator . '/activecampaign', 'username' => 'fluent', 'password' => '']);
        $this->assertStringContainsString('FluentCRM needs its application password', $fluent['json']['data']['message']);
        $this->assertSame([], $this->calls(), 'no call carried the saved key anywhere');
    }

    public function testNoSecretIsInTheAnswerEvenWhenTheCrmEchoesIt(): void
    {
        $this->save('activecampaign');
        $key = 'typed-key-echoed';
        $this->emulator('POST', '/_emulator/faults', ['crm' => 'keap', 'path' => '/v2/tags', 'mode' => 'status', 'status' => 400, 'body' => ['message' => "bad $key"]]);
        $answer = $this->ajax(['crm' => 'keap', 'api_url' => self::$emulator . '/keap', 'api_key' => $key]);
        $this->assertFalse($answer['json']['success']);
        $this->assertStringNotContainsString($key, $answer['body']);
        $this->assertStringNotContainsString(self::$credentials['activecampaign']['api_key'], $answer['body']);
        $this->assertStringContainsString('Keap', $answer['json']['data']['message'], 'the error names the CRM it tried: ' . $answer['body']);

        $saved = $this->ajax(['crm' => 'activecampaign', 'api_url' => self::$emulator . '/activecampaign', 'api_key' => '']);
        $this->assertTrue($saved['json']['success']);
        $this->assertStringNotContainsString(self::$credentials['activecampaign']['api_key'], $saved['body']);
    }

    public function testOnlyAnAdministratorWithTheNonceMayTest(): void
    {
        $this->save('activecampaign');
        $typed = ['crm' => 'keap', 'api_url' => self::$emulator . '/keap', 'api_key' => self::$credentials['keap']['api_key']];

        $badNonce = $this->ajax($typed, 'not-a-nonce');
        $this->assertSame('-1', $badNonce['die'], 'check_ajax_referer refused it');
        $this->assertSame(403, $badNonce['status']);

        $subscriber = (int) wp_insert_user(['user_login' => 'sub' . wp_rand(), 'user_email' => 'sub' . wp_rand() . '@example.com', 'user_pass' => 'x', 'role' => 'subscriber']);
        wp_set_current_user($subscriber);
        $refused = $this->ajax($typed);
        $this->assertFalse($refused['json']['success']);
        $this->assertSame('You are not allowed to do that.', $refused['json']['data']['message']);
        wp_set_current_user(1);
        wp_delete_user($subscriber);

        $this->assertSame([], $this->calls(), 'no CRM was called');
    }

    public function testValuesThatCannotWorkAreClearErrors(): void
    {
        $this->save('activecampaign');
        $this->assertSame('Choose a CRM first.', $this->ajax(['crm' => 'hubspot'])['json']['data']['message']);
        $this->assertSame('ActiveCampaign needs an API URL.', $this->ajax(['crm' => 'activecampaign', 'api_url' => '', 'api_key' => 'k'])['json']['data']['message']);
        $this->assertSame('FunnelKit needs the username of a user of that site.', $this->ajax(['crm' => 'funnelkit', 'api_url' => 'https://shop.example.com', 'username' => ' ', 'password' => 'p'])['json']['data']['message']);
        $plain = $this->ajax(['crm' => 'activecampaign', 'api_url' => 'http://acme.example.com', 'api_key' => 'k']);
        $this->assertStringContainsString('https://', $plain['json']['data']['message']);
        $this->assertSame([], $this->calls());
    }

    public function testSwitchingCrmAndSavingClearsTheOldCrmsCredentials(): void
    {
        $this->save('activecampaign');
        $acUrl = self::$emulator . '/activecampaign';
        // A page without JavaScript sends the old URL back pre-filled; the key field is empty.
        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'keap', 'api_url' => $acUrl, 'api_key' => '', 'username' => '']);
        $this->assertSame('keap', $saved['crm']);
        $this->assertSame('', $saved['api_key'], 'ActiveCampaign\'s key is not Keap\'s');
        $this->assertSame('', $saved['api_url'], 'nor is its URL');
        $messages = implode(' ', array_column(get_settings_errors('crmhook'), 'message'));
        $this->assertStringContainsString('The credentials saved for ActiveCampaign were cleared', $messages);
        $this->assertStringContainsString('Settings saved.', $messages);

        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'keap', 'api_url' => '', 'api_key' => 'keap-typed']);
        $this->assertSame('keap-typed', $saved['api_key'], 'a key typed for the new CRM is saved');

        // And back: ActiveCampaign's key is not restored; it must be typed again.
        CrmHook_Settings::update($saved);
        $back = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'activecampaign', 'api_url' => $acUrl, 'api_key' => '']);
        $this->assertSame('', $back['api_key']);
        $this->assertSame($acUrl, $back['api_url'], 'a URL typed for the new CRM is kept');
    }

    public function testTheSavedSecretStaysOnlyForTheSameCrmAndUrl(): void
    {
        $this->save('activecampaign');
        $url = self::$emulator . '/activecampaign';
        $key = self::$credentials['activecampaign']['api_key'];
        $this->assertSame($key, CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'activecampaign', 'api_url' => $url, 'api_key' => ''])['api_key']);
        $this->assertSame($key, CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'activecampaign', 'api_url' => "$url/", 'api_key' => ''])['api_key'], 'a trailing slash is the same URL');
        $moved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'activecampaign', 'api_url' => 'https://other.api-us1.com', 'api_key' => '']);
        $this->assertSame('', $moved['api_key'], 'a new URL does not get the saved key');
        $this->assertSame('https://other.api-us1.com', $moved['api_url']);
        $this->assertStringContainsString('the API URL changed', implode(' ', array_column(get_settings_errors('crmhook'), 'message')));
    }

    public function testOnlyTheChosenCrmsFieldsAreSaved(): void
    {
        $this->save('fluentcrm');
        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'fluentcrm', 'api_url' => self::$emulator . '/fluentcrm', 'username' => 'fluent', 'password' => '', 'api_key' => 'typed-by-mistake', 'api_secret' => 'x-secret']);
        $this->assertSame('', $saved['api_key']);
        $this->assertSame('', $saved['api_secret']);
        $this->assertSame('fluent', $saved['username']);
        $this->assertSame(self::$credentials['fluentcrm']['password'], $saved['password'], 'same CRM and URL: the saved password stays');

        $funnel = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'funnelkit', 'api_url' => self::$emulator . '/fluentcrm', 'username' => 'fluent', 'password' => '']);
        $this->assertSame('', $funnel['password'], 'FluentCRM\'s application password is not FunnelKit\'s');
        $this->assertSame('', $funnel['username']);
        $this->assertSame('', $funnel['api_url']);
    }

    public function testLeavingKitDeletesItsRulesWhileItsKeyStillWorks(): void
    {
        $this->save('kit', ['ck_update_tag' => '5', 'ck_import_tag' => '', 'ck_update_rule' => '', 'ck_import_rule' => '']);
        CrmHook_Admin::register_rules();
        $this->assertCount(1, (array) ($this->emulator('GET', '/_emulator/rules')['kit'] ?? []));

        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'keap', 'api_url' => '', 'api_key' => 'keap-typed']);
        $this->assertSame('keap-typed', $saved['api_key']);
        $this->assertSame('', $saved['ck_update_rule']);
        $this->assertSame([], (array) ($this->emulator('GET', '/_emulator/rules')['kit'] ?? []), 'no rule keeps calling the site from Kit');
    }
}
