DROP TABLE `callback_escalations`;
