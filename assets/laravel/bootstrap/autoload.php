<?php

// Debian installs the framework's autoloader on PHP's default include path
// (/usr/share/php); there is no vendor/autoload.php without Composer.
require_once 'Illuminate/autoload.php';

// PSR-4 for the application's own classes: App\ => app/
spl_autoload_register(static function (string $class): void {
    if (strncmp($class, 'App\\', 4) !== 0) {
        return;
    }
    $file = __DIR__.'/../app/'.str_replace('\\', '/', substr($class, 4)).'.php';
    if (is_file($file)) {
        require $file;
    }
});
