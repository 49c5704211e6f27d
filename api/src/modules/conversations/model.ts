export {
  ConversationParams,
  ConversationResponse,
  ConversationsResponse,
  CreateConversationBody,
  ErrorBody,
  MuteBody,
} from "@parley/contract";
