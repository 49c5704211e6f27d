export {
  ConversationParams,
  ErrorBody,
  MessageResponse,
  MessagesPage,
  MessagesQuery,
  ReadBody,
  SendMessageBody,
} from "@parley/contract";
