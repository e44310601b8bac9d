import { Body, Controller, Get, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { Principal } from '../auth/admin-auth.service';
import { InvitationsService, MAX_INVITATION_HOURS } from '../sites/invitations.service';
import { CurrentUser, Requires } from './auth.guard';
import { InvitationBundleDto, InvitationDto } from './responses';

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/;

export class CreateInvitationDto {
  @ApiProperty({ description: 'the hospital\'s name, as admins will see it' }) @IsString() @MinLength(1) @MaxLength(120) name!: string;
  @ApiPropertyOptional({ description: `hours until the token expires (1..${MAX_INVITATION_HOURS}, default 72)` }) @IsOptional() @IsInt() @Min(1) @Max(MAX_INVITATION_HOURS) expiresHours?: number;
  @ApiPropertyOptional({ description: 'host:port of the federation endpoint as the site reaches it' }) @IsOptional() @IsString() @Matches(HOST_PORT, { message: 'federationAddress must be host:port' }) federationAddress?: string;
  @ApiPropertyOptional({ description: 'host:port of the enrolment endpoint as the site reaches it' }) @IsOptional() @IsString() @Matches(HOST_PORT, { message: 'enrollAddress must be host:port' }) enrollAddress?: string;
}

/** Invitations for hospitals to enrol; the answer to POST is the bundle file to hand to the site. */
@ApiTags('sites')
@Controller('api/sites/invitations')
export class InvitationsController {
  constructor(private readonly invitations: InvitationsService) {}

  @Post()
  @Requires('sites:write')
  @ApiCreatedResponse({ type: InvitationBundleDto, description: 'the bundle file to hand to the site' })
  create(@CurrentUser() user: Principal, @Body() body: CreateInvitationDto) {
    return this.invitations.create(user.username, { siteName: body.name, expiresHours: body.expiresHours, federationAddress: body.federationAddress, enrollAddress: body.enrollAddress });
  }

  @Get()
  @Requires('sites:write')
  @ApiOkResponse({ type: [InvitationDto] })
  list(): Promise<InvitationDto[]> {
    return this.invitations.list();
  }
}
