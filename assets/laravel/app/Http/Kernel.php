<?php

namespace App\Http;

use Illuminate\Foundation\Http\Kernel as HttpKernel;

class Kernel extends HttpKernel
{
    /**
     * Global middleware: maintenance mode is the one the deployment relies on.
     *
     * @var array
     */
    protected $middleware = [
        \App\Http\Middleware\PreventRequestsDuringMaintenance::class,
    ];

    /**
     * The route service provider refers to these groups by name; they stay
     * empty because the app has no sessions, cookies or CSRF.
     *
     * @var array
     */
    protected $middlewareGroups = [
        'web' => [],
        'api' => [],
    ];

    /**
     * @var array
     */
    protected $routeMiddleware = [];
}
