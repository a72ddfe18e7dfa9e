<?php
/**
 * What the security review found, on a real WordPress: CRM text never reaches a page
 * unescaped, privileged users are judged in one place, plain-http API URLs are refused, and
 * wrong keys are counted atomically in a bounded table.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class SecurityTest extends TestCase
{
    private const SCRIPT = '<script>alert("crm")</script>';

    private static string $emulator;

    public static function setUpBeforeClass(): void
    {
        self::$emulator = getenv('EMULATOR_URL') ?: 'http://127.0.0.1:8790';
        // The screen's own helpers (settings errors, submit_button), as wp-admin loads them.
        require_once ABSPATH . 'wp-admin/includes/admin.php';
    }

    protected function setUp(): void
    {
        global $wp_settings_errors;
        $wp_settings_errors = array();
        wp_set_current_user(1);
        $this->emulator('POST', '/_emulator/reset');
        global $wpdb;
        $wpdb->query('DELETE FROM ' . CrmHook_Log::table());
        CrmHook_Throttle::clear();
    }

    protected function tearDown(): void
    {
        $this->emulator('POST', '/_emulator/reset');
        remove_all_filters('crmhook_privileged_capabilities');
    }

    /** Points the plugin at the emulator's Kit, whose rules the settings screen registers. */
    private function useKit(array $extra = []): void
    {
        $credentials = json_decode((string) file_get_contents(dirname(__DIR__) . '/fixtures/crm/seed.json'), true)['credentials']['kit'];
        CrmHook_Settings::update(array_merge(['crm' => 'kit', 'api_url' => self::$emulator . '/kit', 'ck_update_tag' => '', 'ck_import_tag' => '', 'ck_update_rule' => '', 'ck_import_rule' => ''], $credentials, $extra));
    }

    private function emulator(string $method, string $path, ?array $body = null): void
    {
        $answer = wp_remote_request(self::$emulator . $path, ['method' => $method, 'body' => $body === null ? null : wp_json_encode($body), 'headers' => ['Content-Type' => 'application/json'], 'timeout' => 30]);
        $this->assertSame(200, wp_remote_retrieve_response_code($answer), "emulator $method $path");
    }

    private function settingsPage(): string
    {
        ob_start();
        CrmHook_Admin::render();
        return (string) ob_get_clean();
    }

    private function assertNoRawScript(string $html, string $where): void
    {
        $this->assertStringNotContainsString(self::SCRIPT, $html, "$where: CRM text reached the page as HTML");
        $this->assertStringNotContainsString('<script>alert', $html, $where);
    }

    public function testARuleRegistrationErrorFromTheCrmIsEscapedOnTheSettingsPage(): void
    {
        $this->useKit();
        $this->emulator('POST', '/_emulator/faults', ['crm' => 'kit', 'path' => '/v4/webhooks', 'mode' => 'status', 'status' => 422, 'body' => ['errors' => [self::SCRIPT]]]);
        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'kit', 'api_url' => self::$emulator . '/kit', 'ck_update_tag' => '5']);
        $this->assertSame('', $saved['ck_update_rule'], 'no rule was registered');
        $html = $this->settingsPage();
        $this->assertNoRawScript($html, 'settings error');
        $this->assertStringContainsString('&lt;script&gt;', $html, 'the CRM\'s message is shown, as text');
    }

    public function testATagListErrorFromTheCrmIsEscapedOnTheSettingsPage(): void
    {
        $this->useKit();
        delete_transient('crmhook_tags_' . md5((string) wp_json_encode(CrmHook_Settings::crm_config())));
        $this->emulator('POST', '/_emulator/faults', ['crm' => 'kit', 'path' => '/v4/tags', 'mode' => 'status', 'status' => 400, 'body' => ['errors' => [self::SCRIPT]]]);
        $html = $this->settingsPage();
        $this->assertNoRawScript($html, 'tag list warning');
        $this->assertStringContainsString('&lt;script&gt;', $html);
    }

    public function testWebhookMessagesInTheActivityLogAreEscaped(): void
    {
        $this->useKit();
        CrmHook_Log::record(['crm' => 'kit', 'action' => 'add', 'status' => 502, 'message' => 'Kit refused: ' . self::SCRIPT, 'notices' => [self::SCRIPT]]);
        $html = $this->settingsPage();
        $this->assertNoRawScript($html, 'activity log');
        $this->assertStringContainsString('Kit refused: &lt;script&gt;', $html);
    }

    public function testAPlainHttpApiUrlIsRefusedWithAClearMessageAndTheSavedOneKept(): void
    {
        CrmHook_Settings::update(['crm' => 'fluentcrm', 'api_url' => 'https://crm.example.com']);
        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'fluentcrm', 'api_url' => 'http://crm.example.com/"><script>x</script>']);
        $this->assertSame('https://crm.example.com', $saved['api_url']);
        $errors = get_settings_errors('crmhook');
        $this->assertCount(1, $errors);
        $this->assertStringContainsString('must use https://', $errors[0]['message']);
        $this->assertStringNotContainsString('<script>', $errors[0]['message']);

        $saved = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'fluentcrm', 'api_url' => 'http://127.0.0.1:8080/']);
        $this->assertSame('http://127.0.0.1:8080/', $saved['api_url'], 'a development host may use http://');
    }

    public function testTestConnectionCatchesAReturnPasswordFieldFluentCrmWouldDrop(): void
    {
        $credentials = json_decode((string) file_get_contents(dirname(__DIR__) . '/fixtures/crm/seed.json'), true)['credentials']['fluentcrm'];
        $config = ['crm' => 'fluentcrm', 'api_url' => self::$emulator . '/fluentcrm', 'api_key' => '', 'api_secret' => ''] + $credentials;
        $good = CrmHook_Admin::connection_report($config, 'wp_password');
        $this->assertTrue($good['ok'], $good['message']);
        $this->assertStringContainsString('Connected to FluentCRM', $good['message']);
        $bad = CrmHook_Admin::connection_report($config, 'return_pass');
        $this->assertFalse($bad['ok']);
        $this->assertStringContainsString('no field "return_pass"', $bad['message']);
        $this->assertStringContainsString('wp_password', $bad['message'], 'names the fields it has');
    }

    /** @return array<string, mixed> Kit's rules as the emulator holds them. */
    private function kitRules(): array
    {
        $answer = wp_remote_get(self::$emulator . '/_emulator/rules');
        return (array) (json_decode((string) wp_remote_retrieve_body($answer), true)['kit'] ?? []);
    }

    public function testDeactivationDeletesTheKitRulesAndActivationRegistersThemAgain(): void
    {
        $this->useKit(['ck_update_tag' => '5', 'ck_import_tag' => '6']);
        CrmHook_Admin::register_rules();
        $this->assertCount(2, $this->kitRules());
        $this->assertNotSame('', CrmHook_Settings::get('ck_update_rule'));

        CrmHook_Plugin::deactivate();
        $this->assertSame([], $this->kitRules(), 'no rule keeps calling a deactivated site');
        $this->assertSame('', CrmHook_Settings::get('ck_update_rule'));
        $this->assertSame('5', CrmHook_Settings::get('ck_update_tag'), 'the chosen tags stay');

        CrmHook_Plugin::on_activation();
        $rules = $this->kitRules();
        $this->assertCount(2, $rules);
        $this->assertNotSame('', CrmHook_Settings::get('ck_import_rule'));
        CrmHook_Plugin::deactivate();
    }

    public function testANewAccessKeyReRegistersTheRulesWithIt(): void
    {
        $this->useKit(['ck_update_tag' => '5', 'ck_import_tag' => '']);
        CrmHook_Admin::register_rules();
        $old = (string) CrmHook_Settings::get('access_key');
        CrmHook_Settings::update(['access_key' => crmhook_generate_access_key()]);
        CrmHook_Admin::register_rules();
        $targets = wp_json_encode($this->kitRules());
        $this->assertStringContainsString((string) CrmHook_Settings::get('access_key'), $targets);
        $this->assertStringNotContainsString($old, $targets);
        $this->assertCount(1, $this->kitRules(), 'the old rule was deleted, not left beside the new one');
        CrmHook_Settings::update(['access_key' => $old]);
        CrmHook_Plugin::deactivate();
    }

    public function testPrivilegedUsersAreJudgedOnTheExtensionsListPlusTheFilter(): void
    {
        $this->assertSame(crmhook_privileged_capabilities(), array_slice(CrmHook_Settings::privileged_capabilities(), 0, count(crmhook_privileged_capabilities())));
        $editor = get_user_by('id', (int) wp_insert_user(['user_login' => 'ed' . wp_rand(), 'user_email' => 'ed' . wp_rand() . '@example.com', 'user_pass' => 'x', 'role' => 'editor']));
        $author = get_user_by('id', (int) wp_insert_user(['user_login' => 'au' . wp_rand(), 'user_email' => 'au' . wp_rand() . '@example.com', 'user_pass' => 'x', 'role' => 'author']));
        $this->assertTrue(CrmHook_Settings::is_privileged(get_user_by('id', 1)), 'administrator');
        $this->assertTrue(CrmHook_Settings::is_privileged($editor), 'editor (unfiltered_html)');
        $this->assertFalse(CrmHook_Settings::is_privileged($author));

        $author->add_cap('manage_woocommerce');
        add_filter('crmhook_privileged_capabilities', static fn (array $caps) => array_merge($caps, ['manage_woocommerce']));
        $this->assertTrue(CrmHook_Settings::is_privileged($author), 'a capability the site added, held directly');
        $this->assertContains('manage_woocommerce', CrmHook_Settings::plan_options(null)['privileged_capabilities'], 'the plan judges roles on the same list');

        add_filter('crmhook_privileged_capabilities', static fn () => []);
        $this->assertContains('manage_options', CrmHook_Settings::privileged_capabilities(), 'the built-in list cannot be filtered away');
    }

    public function testTheSettingsPageMarksRolesOnTheSameList(): void
    {
        add_role('store_boss', 'Store boss', ['read' => true, 'manage_woocommerce' => true]);
        add_filter('crmhook_privileged_capabilities', static fn (array $caps) => array_merge($caps, ['manage_woocommerce']));
        $this->useKit();
        $html = $this->settingsPage();
        remove_role('store_boss');
        $this->assertMatchesRegularExpression('/value="store_boss"[^>]*disabled/', $html, 'a role the site made privileged cannot be allowed');
    }

    public function testWrongKeysAreCountedPerAddressInABoundedTable(): void
    {
        for ($i = 1; $i <= 5; $i++) {
            $this->assertSame($i, CrmHook_Throttle::count_bad_key('203.0.113.9', 10));
        }
        $this->assertSame(1, CrmHook_Throttle::count_bad_key('203.0.113.10', 10), 'another address has its own count');
        $this->assertSame(1, CrmHook_Throttle::count_bad_key('2001:db8:1:2::1', 10));
        $this->assertSame(2, CrmHook_Throttle::count_bad_key('2001:db8:1:2::ffff', 10), 'one IPv6 /64 is one client');
        global $wpdb;
        $this->assertLessThanOrEqual(3 * 2, (int) $wpdb->get_var('SELECT COUNT(*) FROM ' . CrmHook_Throttle::table()), 'a row per bucket and minute');
        $this->assertSame('0', (string) $wpdb->get_var("SELECT COUNT(*) FROM {$wpdb->options} WHERE option_name LIKE '%crmhook_bad_key%'"), 'no option rows');
        // A minute older than the window is pruned when a new row is written.
        $wpdb->query('UPDATE ' . CrmHook_Throttle::table() . ' SET minute = minute - 30');
        $this->assertSame(1, CrmHook_Throttle::count_bad_key('198.51.100.1', 10));
        $this->assertSame('1', (string) $wpdb->get_var('SELECT COUNT(*) FROM ' . CrmHook_Throttle::table()));
    }
}
