<?php
/**
 * Base for the tests of the users list and the profile screen: what wp-admin has loaded when those
 * screens run, Keap as the CRM with its tag names already cached (Keap stores tag ids; the screens
 * show names from the CRM, read from that cache, so no CRM is called), and the users a test made
 * deleted after it.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

abstract class UserScreensTestCase extends TestCase
{
    /** Nothing listens on port 1: a call to the CRM would fail, never reach anything. */
    protected const API_URL = 'http://127.0.0.1:1/keap';

    /** @var list<int> The users this test made (user()); deleted in tearDown(). */
    protected array $users = [];

    /** @var array<string, mixed> The settings before the test. */
    private array $saved = [];

    public static function setUpBeforeClass(): void
    {
        // What wp-admin has loaded by the time the users and profile screens run.
        require_once ABSPATH . 'wp-admin/includes/user.php';
        require_once ABSPATH . 'wp-admin/includes/template.php';
        require_once ABSPATH . 'wp-admin/includes/class-wp-screen.php';
        require_once ABSPATH . 'wp-admin/includes/screen.php';
    }

    /**
     * Keap as the CRM, with these tag names cached as it would answer them.
     *
     * @param array<string, string> $tagNames Tag id => name.
     */
    protected function useKeapWithTagNames(array $tagNames): void
    {
        $this->saved = CrmHook_Settings::all();
        CrmHook_Settings::update(['crm' => 'keap', 'api_url' => self::API_URL]);
        CrmHook_Users::forget_tag_names();
        set_transient('crmhook_tag_names_' . md5('keap|' . self::API_URL), $tagNames, 60);
    }

    protected function tearDown(): void
    {
        foreach ($this->users as $id) {
            wp_delete_user($id);
        }
        update_option(CrmHook_Settings::OPTION, $this->saved);
        CrmHook_Users::forget_tag_names();
    }
}
