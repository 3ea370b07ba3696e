DROP TABLE `callback_requests`;
