-- Hierarchical notification settings (Company → Branch → Service), polymorphic:
-- configurable_id is varchar(36) because it holds bigint ids and UUIDs alike.
CREATE TABLE `notification_configurations` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `company_id` bigint unsigned NOT NULL,
  `configurable_type` varchar(255) NOT NULL,
  `configurable_id` varchar(36) NOT NULL,
  `event_type` varchar(100) NOT NULL,
  `channel` enum('email','sms','whatsapp','push') NOT NULL,
  `fallback_channel` enum('email','sms','whatsapp','push','none') NULL DEFAULT NULL,
  `is_enabled` tinyint(1) NOT NULL DEFAULT 1,
  `retry_count` int unsigned NOT NULL DEFAULT 3,
  `retry_delay_minutes` int unsigned NOT NULL DEFAULT 5,
  `template_override` varchar(255) NULL DEFAULT NULL,
  `metadata` json NULL DEFAULT NULL,
  `created_at` timestamp NULL DEFAULT NULL,
  `updated_at` timestamp NULL DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `notification_configurations_scope_event_channel_unique` (`company_id`, `configurable_type`, `configurable_id`, `event_type`, `channel`),
  KEY `notification_configurations_company_event_enabled_index` (`company_id`, `event_type`, `is_enabled`),
  KEY `notification_configurations_configurable_index` (`configurable_type`, `configurable_id`),
  CONSTRAINT `notification_configurations_company_id_foreign` FOREIGN KEY (`company_id`) REFERENCES `companies` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
