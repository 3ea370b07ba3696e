DROP TABLE `notification_configurations`;
