<?php

use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Log;
use Illuminate\Support\Facades\Route;

Route::get('/', function () {
    return response('AskProAI API gateway'.PHP_EOL, 200)
        ->header('Content-Type', 'text/plain; charset=UTF-8');
});

// What a load balancer or the runbook's monitor polls: 200 when the database
// answers, 500 (and an ERROR in the application log) when it does not.
Route::get('/api/health', function () {
    $started = microtime(true);
    try {
        $companies = DB::table('companies')->count();
        $migrations = DB::table('migrations')->count();
    } catch (\Throwable $e) {
        Log::error('Health check failed: database unavailable', [
            'exception' => get_class($e),
            'message' => $e->getMessage(),
        ]);

        return response()->json([
            'status' => 'error',
            'database' => 'unavailable',
        ], 500);
    }

    return response()->json([
        'status' => 'ok',
        'database' => 'ok',
        'companies' => $companies,
        'migrations' => $migrations,
        'duration_ms' => (int) round((microtime(true) - $started) * 1000),
    ]);
});
